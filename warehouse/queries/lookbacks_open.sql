-- Look-backs (回头看) waiting on the stage: scheduled and due, or asked / reminded without an
-- answer; only while the case is still `resolved` (a case reopened or closed otherwise is not asked).
SELECT l.lookback_id, l.case_id, l.state, l.due_at, l.asked_at, l.reminded_at,
       c.title, c.category, c.urgency, c.address, c.received_at, c.community_id, c.grid_id, c.lead_unit_id,
       coalesce((SELECT max(e.occurred_at) FROM case_events e
                 WHERE e.case_id = l.case_id AND e.to_status = 'resolved'), l.created_at) AS resolved_at
FROM lookbacks l
JOIN cases c USING (case_id)
WHERE c.status = 'resolved'
  AND ((l.state = 'scheduled' AND l.due_at <= $now) OR l.state IN ('asked', 'reminded'))
ORDER BY l.due_at, l.lookback_id;
