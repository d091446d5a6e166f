-- Assignments not accepted within their window expire; the lead ones are then re-routed.
UPDATE assignments
SET state = 'expired', updated_at = $now
WHERE state = 'notified' AND accept_by < $now
RETURNING role;
