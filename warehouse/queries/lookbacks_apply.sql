-- Cases moved by look-back answers (registered as _lookback_outcomes): closed, or reopened with a
-- new deadline; an old escalation flag no longer applies either way.
UPDATE cases
SET status = o.status, due_at = coalesce(o.due_at, cases.due_at), escalated_at = NULL, updated_at = $now
FROM _lookback_outcomes o
WHERE cases.case_id = o.case_id;
