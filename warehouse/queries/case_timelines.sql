-- The history of the given cases from the audit trail, oldest first: the agenda's timelines.
SELECT case_id, occurred_at, actor, kind, from_status, to_status, unit_id, reason
FROM case_events
WHERE list_contains($case_ids::VARCHAR[], case_id)
ORDER BY case_id, occurred_at, event_id;
