-- Invariant "the state tables agree with case_events" (liandong/invariants.py): replaying the
-- append-only events in the order they were written gives each case's current status; every case
-- was received once; every assignment is named by an event; an assignment's state past
-- `notified` is explained by an event of that kind.
WITH replay AS (
    SELECT case_id, arg_max(to_status, event_id) AS status,
           count(*) FILTER (WHERE kind = 'received') AS received
    FROM case_events WHERE to_status IS NOT NULL OR kind = 'received'
    GROUP BY case_id
)
SELECT c.case_id AS ref,
       format('状态为 {}，按事件重放应为 {} / status {} but replaying its events gives {}',
              c.status, coalesce(r.status, '（无事件）'), c.status, coalesce(r.status, '(no events)')) AS what
FROM cases c LEFT JOIN replay r USING (case_id)
WHERE r.status IS DISTINCT FROM c.status
UNION ALL
SELECT case_id, format('收到事件 {} 个，应为 1 / {} received events, expected 1', received, received)
FROM replay WHERE received <> 1
UNION ALL
SELECT e.case_id, '事件指向不存在的诉求 / events of a case that does not exist'
FROM (SELECT DISTINCT case_id FROM case_events) e ANTI JOIN cases c USING (case_id)
UNION ALL
SELECT a.assignment_id, format('交办 {} 没有任何事件 / assignment {} is named by no event', a.assignment_id, a.assignment_id)
FROM assignments a
WHERE NOT EXISTS (SELECT 1 FROM case_events e WHERE e.assignment_id = a.assignment_id)
UNION ALL
SELECT a.assignment_id, format('交办状态 {} 没有对应事件 / assignment state {} has no {} event', a.state, a.state, a.state)
FROM assignments a
WHERE a.state IN ('accepted', 'declined', 'expired', 'done_reported')
  AND NOT EXISTS (SELECT 1 FROM case_events e WHERE e.assignment_id = a.assignment_id AND e.kind = a.state)
ORDER BY 1;
