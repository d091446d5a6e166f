-- The case side of a moved deadline: the escalation flag belonged to the old deadline.
UPDATE cases
SET due_at = $due_at, escalated_at = NULL, updated_at = $now
WHERE case_id = $case_id;
