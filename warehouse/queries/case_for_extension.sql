-- A case and its live lead assignment (notified or accepted), for a coordinator's extension (延期).
SELECT c.case_id, c.status, c.community_id, c.due_at, a.assignment_id, a.unit_id, a.due_at AS lead_due_at
FROM cases c
LEFT JOIN assignments a ON a.case_id = c.case_id AND a.role = 'lead' AND a.state IN ('notified', 'accepted')
WHERE c.case_id = $case_id
ORDER BY a.created_at DESC
LIMIT 1;
