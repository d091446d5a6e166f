-- Communities with an urgent case that needs a joint decision now: declined or let expire by
-- every candidate (needs_meeting) or escalated to the top rung (督办), not heard at a meeting
-- since, and not on the agenda of a meeting still to be held. A deferral counts as heard: the
-- case waits for the next regular meeting unless it is escalated again.
-- Parameters: none besides the warehouse's state.
WITH heard AS (
    SELECT case_id, max(occurred_at) AS at
    FROM case_events
    WHERE kind IN ('meeting_decided', 'meeting_deferred', 'meeting_rejected', 'meeting_noted')
    GROUP BY case_id
),
cleared AS (
    SELECT case_id, max(occurred_at) AS at
    FROM case_events
    WHERE kind IN ('extension_granted', 'reopened')
    GROUP BY case_id
),
raised AS (
    SELECT case_id, kind, max(occurred_at) AS at
    FROM case_events
    WHERE kind IN ('needs_meeting', 'escalated')
    GROUP BY case_id, kind
),
tabled AS (
    SELECT DISTINCT i.case_id
    FROM agenda_items i JOIN meetings m USING (meeting_id)
    WHERE m.status = 'scheduled' AND i.case_id IS NOT NULL
)
SELECT c.community_id, list(DISTINCT c.case_id ORDER BY c.case_id) AS case_ids
FROM cases c
JOIN raised r USING (case_id)
LEFT JOIN heard h USING (case_id)
LEFT JOIN cleared x USING (case_id)
WHERE c.urgency = 'urgent' AND c.community_id IS NOT NULL
  AND c.case_id NOT IN (SELECT case_id FROM tabled)
  AND (h.at IS NULL OR r.at > h.at)
  AND ((r.kind = 'needs_meeting' AND c.status = 'needs_meeting')
       OR (r.kind = 'escalated' AND c.status IN ('assigned', 'in_progress') AND (x.at IS NULL OR r.at > x.at)))
GROUP BY c.community_id
ORDER BY c.community_id;
