-- Cases escalated tonight (registered as _escalated): flagged for the next joint-meeting agenda.
UPDATE cases
SET escalated_at = $now, updated_at = $now
FROM _escalated e
WHERE cases.case_id = e.case_id;
