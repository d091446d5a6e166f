-- One case_events row per triage verdict, with the rule that decided it.
INSERT INTO case_events (case_id, occurred_at, actor, kind, from_status, to_status, reason, detail, run_id)
SELECT case_id, $now, 'system', kind, 'new', status, reason,
       json_object('category', category, 'category_reason', category_reason,
                   'urgency', urgency, 'urgency_reason', urgency_reason),
       $run_id
FROM _triage;
