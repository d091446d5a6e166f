-- Granted extensions whose notice to the lead unit is not in the outbox yet (also after a crash
-- between the grant and the queueing).
SELECT e.event_id, e.case_id, e.assignment_id, e.unit_id, e.reason, e.detail,
       c.title, c.category, c.urgency, c.address, c.received_at, c.community_id
FROM case_events e
JOIN cases c USING (case_id)
WHERE e.kind = 'extension_granted'
  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.idempotency_key LIKE ('extension:' || e.event_id || ':%'))
ORDER BY e.event_id;
