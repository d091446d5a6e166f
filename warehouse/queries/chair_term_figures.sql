-- A rotating chair's term report (述职): the community's cases the committee handled (assigned,
-- claimed or sent to a meeting) that were open at some time in [$starts, $ends), how many were
-- closed (resolved, verified, closed or rejected) in it, and which are still open now.
-- Parameters: $community_id, $starts, $ends (naive UTC).
WITH handled AS (
    SELECT DISTINCT case_id FROM assignments
    UNION
    SELECT case_id FROM case_events WHERE kind = 'needs_meeting'
),
ended AS (
    SELECT case_id, max(occurred_at) AS at
    FROM case_events
    WHERE to_status IN ('resolved', 'verified', 'closed', 'rejected')
    GROUP BY case_id
),
term AS (
    SELECT c.case_id, c.received_at, e.at AS ended_at,
           c.status IN ('assigned', 'in_progress', 'needs_meeting', 'reopened', 'claim_listed') AS still_open
    FROM cases c
    JOIN handled USING (case_id)
    LEFT JOIN ended e USING (case_id)
    WHERE c.community_id = $community_id AND c.received_at < $ends
)
SELECT count(*) AS tracked,
       count(*) FILTER (WHERE NOT still_open AND ended_at >= $starts AND ended_at < $ends) AS closed,
       count(*) FILTER (WHERE still_open) AS still_open,
       coalesce(list(case_id ORDER BY received_at, case_id) FILTER (WHERE still_open), []) AS open_case_ids
FROM term
WHERE still_open OR ended_at >= $starts;
