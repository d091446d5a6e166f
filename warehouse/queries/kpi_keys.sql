-- Ids that share a 64-bit hash: the KPI queries key cases and assignments by hash(id), so a
-- collision would merge two histories. (With millions of ids the odds are about 1 in 10⁷.)
SELECT (SELECT count(*) - count(DISTINCT cid) FROM kpi_cases)
       + (SELECT count(*) - count(DISTINCT hash(assignment_id)) FROM assignments) AS collisions
