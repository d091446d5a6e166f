-- A moved deadline (extension): the case, its live assignments (lead and supports) and the
-- escalation flag, which belonged to the old deadline.
UPDATE assignments
SET due_at = $due_at, deadline_set_at = $now, updated_at = $now
WHERE case_id = $case_id AND state IN ('notified', 'accepted');
