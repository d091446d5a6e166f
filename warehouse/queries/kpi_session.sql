-- Macros for the KPI queries of one connection (docs/kpis.md), run before them.
-- Warehouse timestamps are naive UTC. Asia/Shanghai has kept UTC+8 without daylight saving
-- since 1991, so local time is a plain addition: far cheaper over ten million events than a
-- time-zone lookup per row.
CREATE OR REPLACE TEMP MACRO shanghai(ts) AS ts + INTERVAL 8 HOUR;
CREATE OR REPLACE TEMP MACRO from_shanghai(ts) AS ts - INTERVAL 8 HOUR;
-- Quarters as integers (20264) while counting, as labels (2026-Q4) in results.
CREATE OR REPLACE TEMP MACRO quarter_index(ts) AS year(ts + INTERVAL 8 HOUR) * 10 + quarter(ts + INTERVAL 8 HOUR);
CREATE OR REPLACE TEMP MACRO quarter_label(q) AS (q // 10) || '-Q' || (q % 10);
-- The KPI tables are aggregated, never read in insertion order; without the guarantee DuckDB
-- writes them from both cores at once.
SET preserve_insertion_order = false;
-- The sum of the tallies n of the rows meeting cond, 0 when none do (kpi_by_dimension.sql).
CREATE OR REPLACE TEMP MACRO tally(n, cond) AS coalesce(sum(n) FILTER (WHERE cond), 0)::BIGINT;
