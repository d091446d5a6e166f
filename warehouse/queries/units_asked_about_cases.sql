-- Every unit asked to lead or support the given cases, and what became of it.
SELECT case_id, assignment_id, unit_id, role, state, decline_reason, responded_at, created_at, due_at
FROM assignments
WHERE list_contains($case_ids::VARCHAR[], case_id)
ORDER BY case_id, created_at, assignment_id;
