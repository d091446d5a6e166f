-- Invariant "no double effect" (liandong/invariants.py): one reply changes one thing once. Two
-- case events of the same kind from the same inbound message on the same case and assignment mean
-- the reply was applied twice (a rerun after a crash, or a duplicate delivery).
SELECT inbound_id || ' ' || kind || ' ' || case_id || coalesce(' ' || assignment_id, '') AS ref,
       format('同一回复被执行 {} 次 / the same reply was applied {} times', count(*), count(*)) AS what
FROM case_events
WHERE inbound_id IS NOT NULL
GROUP BY inbound_id, kind, case_id, assignment_id
HAVING count(*) > 1
ORDER BY ref;
