-- The cases a community's joint meeting should hear, each once under its most pressing reason
-- (item_kind), in agenda order: urgent or escalated cases first (`pressing`), then by reason —
-- escalated, needs_meeting, overdue, reopened (failed look-back), several_units at work on it,
-- action_item (decided at the previous meeting) — then urgency and age.
-- An escalation (督办) counts until a meeting assigns or rejects the case, a deadline is
-- extended or a look-back reopens it; a deferral keeps it on the next agenda.
-- An ad-hoc meeting hears the pressing cases only ($pressing_only); the rest wait for the regular one.
-- Parameters: $community_id, $now, $several_units, $previous_meeting_id (NULL: none), $pressing_only.
WITH open_cases AS (
    SELECT case_id, status, due_at
    FROM cases
    WHERE community_id = $community_id AND status IN ('assigned', 'in_progress', 'needs_meeting', 'reopened')
),
settled AS (
    SELECT case_id, max(occurred_at) AS at
    FROM case_events
    WHERE kind IN ('meeting_decided', 'meeting_rejected', 'extension_granted', 'reopened')
    GROUP BY case_id
),
escalated AS (
    SELECT case_id, max(occurred_at) AS at FROM case_events WHERE kind = 'escalated' GROUP BY case_id
),
involved AS (
    SELECT case_id, count(DISTINCT unit_id) AS units
    FROM assignments
    WHERE state IN ('notified', 'accepted', 'done_reported')
    GROUP BY case_id
),
reasons AS (
    SELECT o.case_id, 'escalated' AS item_kind, 1 AS rank
    FROM open_cases o JOIN escalated e USING (case_id) LEFT JOIN settled s USING (case_id)
    WHERE s.at IS NULL OR e.at > s.at
    UNION ALL
    SELECT case_id, 'needs_meeting', 2 FROM open_cases WHERE status = 'needs_meeting'
    UNION ALL
    SELECT case_id, 'overdue', 3 FROM open_cases WHERE status IN ('assigned', 'in_progress') AND due_at < $now
    UNION ALL
    SELECT case_id, 'reopened', 4 FROM open_cases WHERE status = 'reopened'
    UNION ALL
    SELECT o.case_id, 'several_units', 5 FROM open_cases o JOIN involved i USING (case_id) WHERE i.units >= $several_units
    UNION ALL
    SELECT case_id, 'action_item', 6
    FROM agenda_items
    WHERE meeting_id = $previous_meeting_id AND case_id IS NOT NULL
      AND json_extract_string(decision, '$.decision') = 'assign'
),
chosen AS (
    SELECT ch.case_id, ch.item_kind, ch.rank,
           (c.urgency = 'urgent' OR ch.item_kind = 'escalated') AND ch.item_kind <> 'action_item' AS pressing,
           c.urgency, c.received_at
    FROM (SELECT case_id, arg_min(item_kind, rank) AS item_kind, min(rank) AS rank FROM reasons GROUP BY case_id) ch
    JOIN cases c USING (case_id)
)
SELECT case_id, item_kind
FROM chosen
WHERE pressing OR NOT $pressing_only
ORDER BY pressing DESC, rank,
         CASE urgency WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END,
         received_at, case_id;
