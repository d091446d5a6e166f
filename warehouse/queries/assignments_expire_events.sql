-- One `expired` event per assignment not accepted within its window (run before assignments_expire).
INSERT INTO case_events (case_id, occurred_at, actor, kind, assignment_id, unit_id, reason, detail, run_id)
SELECT case_id, $now, 'system', 'expired', assignment_id, unit_id,
       '未在接收时限内回复，视为超时 / not accepted within its window',
       json_object('role', role, 'accept_by', accept_by),
       $run_id
FROM assignments
WHERE state = 'notified' AND accept_by < $now;
