-- Every case once, keyed as the KPI queries key it (cid = hash(case_id), see kpi_items.sql), with
-- what the breakdowns and the notable cases read of it; made once per run (kpi_keys.sql checks
-- the keys are unique).
SELECT hash(case_id) AS cid, case_id, community_id, grid_id, category, source, lead_unit_id FROM cases
