-- Open cases past their lead unit's deadline, or escalated: the coordinators' overdue table.
SELECT c.community_id, a.unit_id, c.case_id, c.title, c.status, a.due_at, c.escalated_at
FROM assignments a
JOIN cases c USING (case_id)
WHERE a.role = 'lead' AND a.state = 'accepted'
  AND c.status IN ('assigned', 'in_progress', 'reopened')
  AND (a.due_at < $now OR c.escalated_at IS NOT NULL)
ORDER BY c.community_id, a.unit_id, a.due_at, c.case_id;
