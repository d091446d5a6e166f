-- Lead assignments under a deadline (accepted, case still open) with the rungs already sent for
-- that deadline: the chasing ladder's input. Supporting units are not chased: the lead answers
-- for the deadline and coordinates its supports.
SELECT a.assignment_id, a.case_id, a.unit_id, a.due_at,
       coalesce(a.deadline_set_at, a.created_at) AS deadline_set_at,
       c.title, c.category, c.urgency, c.address, c.received_at, c.community_id,
       coalesce(list(n.rung) FILTER (WHERE n.rung IS NOT NULL), []) AS sent
FROM assignments a
JOIN cases c USING (case_id)
LEFT JOIN chase_notices n ON n.assignment_id = a.assignment_id AND n.due_at = a.due_at
WHERE a.role = 'lead' AND a.state = 'accepted' AND a.due_at IS NOT NULL
  AND c.status IN ('assigned', 'in_progress', 'reopened')
GROUP BY ALL
ORDER BY a.unit_id, a.due_at, a.case_id;
