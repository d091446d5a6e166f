-- Quarterly summaries (docs/kpis.md): each quarter's totals as last reported, per scope and per
-- definition of the figures. A quarter's figures use only events before its end, so the trend
-- can show the previous quarters as they were published instead of deriving them again from
-- every event each time; a change of settings, KPI queries or calendar changes the digest and so
-- recomputes them.
CREATE TABLE kpi_quarters (
    scope       VARCHAR NOT NULL,   -- 'all' or a community id
    quarter     VARCHAR NOT NULL,   -- 2026-Q4
    digest      VARCHAR NOT NULL,   -- of the settings, queries and calendar the figures depend on
    figures     JSON NOT NULL,      -- the quarter's totals: one row of kpi_by_dimension.sql
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, quarter, digest)
);
