-- Assignment changes decided from replies (registered as _reply_assignments): accepted,
-- declined with the reason, done reported with the time.
UPDATE assignments
SET state = r.state,
    responded_at = coalesce(r.responded_at, assignments.responded_at),
    decline_reason = coalesce(r.decline_reason, assignments.decline_reason),
    done_at = coalesce(r.done_at, assignments.done_at),
    updated_at = $now
FROM _reply_assignments r
WHERE assignments.assignment_id = r.assignment_id;
