-- Lead assignments a look-back reopened whose notice is not in the outbox yet (also after a
-- crash between the reopening and the queueing). answer_note is the checker's remark (010).
SELECT a.assignment_id, a.unit_id, a.due_at,
       c.case_id, c.title, c.description, c.urgency, c.category, c.address, c.received_at,
       c.reporter_name, c.reporter_phone,
       l.satisfaction, l.answer_note, l.contact_email,
       coalesce((SELECT max(e.occurred_at) FROM case_events e
                 WHERE e.case_id = c.case_id AND e.to_status = 'resolved'), l.created_at) AS resolved_at
FROM assignments a
JOIN cases c USING (case_id)
JOIN lookbacks l ON l.lookback_id = (a.route_detail->>'reopened_from')
WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.idempotency_key LIKE ('reopened:' || a.assignment_id || ':%'))
ORDER BY a.assignment_id;
