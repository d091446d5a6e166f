-- Case status moves decided by a stage (registered as _moves); lead and due time kept when not given.
UPDATE cases
SET status = m.status,
    lead_unit_id = coalesce(m.lead_unit_id, cases.lead_unit_id),
    due_at = coalesce(m.due_at, cases.due_at),
    updated_at = $now
FROM _moves m
WHERE cases.case_id = m.case_id;
