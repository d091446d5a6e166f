-- Triage verdicts (registered as _triage) onto the cases still `new`.
UPDATE cases
SET category = t.category,
    urgency = t.urgency,
    status = t.status,
    status_reason = CASE WHEN t.status = 'triaged' THEN NULL ELSE t.reason END,
    duplicate_of = t.duplicate_of,
    updated_at = $now
FROM _triage t
WHERE cases.case_id = t.case_id AND cases.status = 'new';
