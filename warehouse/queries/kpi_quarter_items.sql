-- The items of the report's quarter $quarter (20264 for 2026-Q4) with their case's dimensions:
-- what the breakdowns, the scorecard and the notable cases read. Verdicts and look-back answers
-- count for the unit they name, else for the case's lead unit.
SELECT i.* REPLACE (CASE WHEN i.item IN ('verdict', 'lookback') THEN coalesce(i.unit_id, c.lead_unit_id)
                         ELSE i.unit_id END AS unit_id),
       c.community_id, c.grid_id, c.category, c.source
FROM kpi_items i
JOIN kpi_cases c USING (cid)
WHERE i.quarter = $quarter
