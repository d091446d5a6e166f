-- Assignments still waiting for their notice: routed (or re-routed) but not yet in the outbox,
-- e.g. after a crash between the routing commit and the queueing.
SELECT a.assignment_id, a.unit_id, a.role, a.accept_by, a.due_at,
       c.case_id, c.title, c.description, c.urgency, c.category, c.address, c.received_at,
       c.reporter_name, c.reporter_phone, c.lead_unit_id
FROM assignments a
JOIN cases c USING (case_id)
WHERE a.state = 'notified'
  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.idempotency_key = 'assignment:' || a.assignment_id)
ORDER BY a.assignment_id;
