-- The cases of the report's quarter a coordinator should look at (from kpi_quarter_items): still
-- overdue at the quarter's end (longest first), reopened, rated dissatisfied, escalated, or
-- resolved late.
-- The unit is the case's lead unit now. Reporter name and phone are returned only so that the
-- caller can mask them where residents wrote them into the title; they are never shown.
WITH flagged AS (
    SELECT cid,
           coalesce(bool_or(item = 'overdue'), false) AS overdue,
           max(days) FILTER (WHERE item = 'overdue') AS overdue_days,
           max(due_at) FILTER (WHERE item = 'overdue') AS due_at,
           coalesce(bool_or(item = 'verdict' AND NOT ok), false) AS reopened,
           coalesce(bool_or(item = 'lookback' AND tag = 'dissatisfied'), false) AS dissatisfied,
           coalesce(bool_or(item = 'escalated'), false) AS escalated,
           coalesce(bool_or(item = 'deadline' AND NOT ok), false) AS late
    FROM kpi_quarter_items
    GROUP BY cid
)
SELECT k.case_id, f.* EXCLUDE (cid), k.lead_unit_id AS unit_id, c.title, k.category, k.community_id, k.grid_id,
       c.reporter_name, c.reporter_phone
FROM flagged f
JOIN kpi_cases k USING (cid)
JOIN cases c ON c.case_id = k.case_id
WHERE f.overdue OR f.reopened OR f.dissatisfied OR f.escalated OR f.late
ORDER BY f.overdue DESC, f.overdue_days DESC NULLS LAST, f.reopened DESC, f.dissatisfied DESC, f.escalated DESC,
         k.case_id
LIMIT $limit
