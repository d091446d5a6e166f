-- Joint meetings (联席会议) from $from to $to, per community and overall (community NULL):
-- meetings held, agenda items decided, and whether the decisions about a case were carried out
-- on time. A decision is followed by the first deadline judged for its case that was set at or
-- after the decision (kpi_items): met = on time, missed = late, none yet = pending.
-- Parameters: $from, $to, $community (NULL: all).
WITH held AS (
    SELECT community_id, kind, chair_unit_id
    FROM meetings
    WHERE status = 'held' AND starts_at >= $from AND starts_at < $to
      AND ($community IS NULL OR community_id = $community)
),
decided AS (
    SELECT m.community_id, a.case_id, a.decided_at
    FROM agenda_items a
    JOIN meetings m USING (meeting_id)
    WHERE a.decision IS NOT NULL AND a.decided_at >= $from AND a.decided_at < $to
      AND ($community IS NULL OR m.community_id = $community)
),
followed AS (
    SELECT d.community_id, d.case_id, k.ok
    FROM decided d
    ASOF LEFT JOIN (SELECT cid, started_at, ok FROM kpi_items WHERE item = 'deadline') k
        ON k.cid = hash(d.case_id) AND k.started_at >= d.decided_at
),
facts AS (
    SELECT community_id, 'meeting' AS what, kind, chair_unit_id, NULL AS case_id, NULL::BOOLEAN AS ok FROM held
    UNION ALL
    SELECT community_id, 'decision', NULL, NULL, case_id, ok FROM followed
)
SELECT community_id,
       count(*) FILTER (WHERE what = 'meeting') AS meetings_held,
       count(*) FILTER (WHERE what = 'meeting' AND kind = 'regular') AS regular_meetings,
       count(*) FILTER (WHERE what = 'meeting' AND kind = 'adhoc') AS adhoc_meetings,
       count(*) FILTER (WHERE what = 'decision') AS items_decided,
       count(*) FILTER (WHERE what = 'decision' AND case_id IS NOT NULL) AS case_decisions,
       count(*) FILTER (WHERE what = 'decision' AND ok) AS carried_out_on_time,
       count(*) FILTER (WHERE what = 'decision' AND NOT ok) AS carried_out_late,
       count(*) FILTER (WHERE what = 'decision' AND case_id IS NOT NULL AND ok IS NULL) AS decisions_pending,
       carried_out_on_time / nullif(case_decisions, 0) AS decisions_on_time_rate,
       list(chair_unit_id ORDER BY chair_unit_id) FILTER (WHERE chair_unit_id IS NOT NULL) AS chaired_by
FROM facts
GROUP BY GROUPING SETS ((), (community_id))
ORDER BY community_id NULLS FIRST
