-- What counts in each quarter from $from to $to (naive UTC, quarter bounds): one row per counted
-- item, dated by the moment its outcome became known (docs/kpis.md defines every item and lists
-- the event kinds and columns read here). Only events before $to are read and every outcome
-- depends only on events up to its own moment, so a past quarter recomputes to what its report
-- showed. Needs kpi_session.sql and kpi_workdays(day, n): n = working days up to day.
-- Parameters: $from, $to, $community (NULL: all), $extensions (granted extensions move the deadline).
--
-- Speed (benchmarks/bench_quarterly.py, ten million events): case_events is scanned once for the
-- kinds used here, with what is needed of each row worked out on the way (it resolves, opens or
-- closes the case); the large detail column is read for the four kinds that carry something in
-- it. Cases and assignments are keyed by the 64-bit hash of their ids (kpi_keys.sql checks that
-- none collide): integers join and sort far faster than id strings. Only the histories of cases
-- with something in the range are read past the first step, and windows and ASOF joins only see
-- the few rows per case that need them. Items carry cid; kpi_quarter_items.sql adds the case's
-- dimensions.
WITH
all_events AS MATERIALIZED (
    SELECT hash(case_id) AS cid, event_id, occurred_at, kind, unit_id, hash(assignment_id) AS aid,
           coalesce(to_status = 'resolved', false) AS resolves,
           -- Receipt opens a case, a move into resolved/verified/closed/rejected closes it, a move
           -- out of those (a reopening) opens it again; other moves change nothing here.
           CASE WHEN kind = 'received' THEN true
                WHEN to_status IN ('resolved', 'verified', 'closed', 'rejected')
                     AND coalesce(from_status NOT IN ('resolved', 'verified', 'closed', 'rejected'), true) THEN false
                WHEN from_status IN ('resolved', 'verified', 'closed', 'rejected')
                     AND to_status NOT IN ('resolved', 'verified', 'closed', 'rejected') THEN true END AS opens
    FROM case_events
    WHERE occurred_at < $to
      AND (kind IN ('received', 'assigned', 'claimed', 'claim_listed', 'accepted', 'declined', 'extension_granted',
                    'reopened', 'verified', 'expired', 'escalated', 'support_assigned', 'lookback_answered',
                    'lookback_no_response')
           OR to_status = 'resolved' OR opens IS NOT NULL)
      AND ($community IS NULL OR case_id IN (SELECT case_id FROM cases WHERE community_id = $community))
),
-- What some events record in their detail: the deadline an extension or a reopening sets, the one
-- an extension replaced, the look-back an answer belongs to. Read apart from the other events,
-- so that the large detail column is read for these kinds only.
details AS MATERIALIZED (
    SELECT event_id,
           TRY_CAST(detail ->> CASE kind WHEN 'reopened' THEN 'due_at' ELSE 'to_due' END AS TIMESTAMP) AS sets_due,
           TRY_CAST(detail ->> 'from_due' AS TIMESTAMP) AS from_due,
           detail ->> 'lookback_id' AS lookback_id
    FROM case_events
    WHERE kind IN ('extension_granted', 'reopened', 'lookback_answered', 'lookback_no_response') AND occurred_at < $to
),
-- The spans of time each case was open: from a move that opens it to the next open/close move.
open_spans AS (
    SELECT cid, since, coalesce(until, 'infinity'::TIMESTAMP) AS until
    FROM (SELECT cid, opens, occurred_at AS since,
                 lead(occurred_at) OVER (PARTITION BY cid ORDER BY occurred_at, event_id) AS until
          FROM all_events WHERE opens IS NOT NULL)
    WHERE opens
),
-- A case with something in the range has an event in it or is open at its end; any other case
-- was closed before the range began. Only the histories of these cases are read further.
ev AS MATERIALIZED (
    SELECT * FROM all_events
    WHERE cid IN (SELECT cid FROM all_events WHERE occurred_at >= $from
                  UNION ALL
                  SELECT cid FROM open_spans WHERE until = 'infinity'::TIMESTAMP)
),
-- Lead assignments (牵头): routed, decided by a meeting, or claimed from the claim list, with the
-- acceptance window and deadline they were given. An extension moves assignments.due_at in
-- place; the first extension's from_due is then the original deadline.
first_extensions AS (
    SELECT aid, arg_min(from_due, occurred_at) AS from_due
    FROM ev JOIN details USING (event_id)
    WHERE kind = 'extension_granted'
    GROUP BY aid
),
leads AS (
    SELECT e.cid, e.occurred_at, e.kind, e.unit_id, e.aid, a.accept_by, coalesce(x.from_due, a.due_at) AS due_at
    FROM ev e
    LEFT JOIN (SELECT hash(assignment_id) AS aid, accept_by, due_at FROM assignments) a USING (aid)
    LEFT JOIN first_extensions x USING (aid)
    WHERE e.kind IN ('assigned', 'claimed')
),
-- A unit answers by accepting, or by reporting done straight away; a claim is its own acceptance.
answers AS (
    SELECT aid,
           min(occurred_at) FILTER (WHERE kind <> 'declined') AS accepted_at,
           min(occurred_at) FILTER (WHERE kind = 'declined') AS declined_at
    FROM ev
    WHERE kind IN ('accepted', 'declined') OR resolves
    GROUP BY aid
),
-- A claimed case was asked for when the claim list offered it.
claims AS (
    SELECT l.aid, o.occurred_at AS offered_at
    FROM (SELECT * FROM leads WHERE kind = 'claimed') l
    ASOF LEFT JOIN (SELECT cid, occurred_at FROM ev WHERE kind = 'claim_listed') o
        ON o.cid = l.cid AND o.occurred_at <= l.occurred_at
),
responses AS (
    SELECT l.cid, l.unit_id, l.occurred_at AS assigned_at, l.accept_by, a.declined_at,
           CASE WHEN l.kind = 'claimed' THEN l.occurred_at ELSE a.accepted_at END AS accepted_at,
           coalesce(c.offered_at, l.occurred_at) AS asked_at,
           coalesce(CASE WHEN l.kind = 'claimed' THEN true ELSE a.accepted_at <= coalesce(l.accept_by, a.accepted_at) END,
                    false) AS in_time
    FROM leads l
    LEFT JOIN answers a USING (aid)
    LEFT JOIN claims c USING (aid)
),
-- Deadline periods: each deadline holds from the event that set it until the next one.
periods AS (
    SELECT *, lead(set_at) OVER (PARTITION BY cid ORDER BY set_at) AS superseded_at
    FROM (SELECT cid, occurred_at AS set_at, due_at, unit_id FROM leads WHERE due_at IS NOT NULL
          UNION ALL
          SELECT cid, occurred_at, sets_due, unit_id FROM ev JOIN details USING (event_id)
          WHERE sets_due IS NOT NULL AND (kind = 'reopened' OR $extensions))
),
-- `first` marks a case's first resolution in its quarter: resolved again after reopening, a
-- case still counts once.
resolutions AS (
    SELECT cid, occurred_at, unit_id,
           coalesce(quarter_index(lag(occurred_at) OVER (PARTITION BY cid ORDER BY occurred_at))
                    <> quarter_index(occurred_at), true) AS first
    FROM ev
    WHERE resolves
),
-- A deadline is met by a resolution within it; it is missed when it passes with the case still
-- open. A case closed otherwise first (rejected as a duplicate, closed by the coordinator) has
-- no outcome for it, and neither has a deadline replaced before it passed.
closings AS (
    SELECT cid, occurred_at, resolves FROM ev WHERE NOT opens
),
judged AS (
    SELECT p.*, c.occurred_at AS closed_at,
           coalesce(c.resolves AND c.occurred_at <= least(p.due_at, p.superseded_at), false) AS on_time
    FROM periods p
    ASOF LEFT JOIN closings c ON c.cid = p.cid AND c.occurred_at >= p.set_at
),
-- A handling round starts with the lead assignment, the claim or the reopening.
rounds AS (
    SELECT r.*, s.occurred_at AS started_at
    FROM resolutions r
    ASOF LEFT JOIN (SELECT cid, occurred_at FROM ev WHERE kind IN ('assigned', 'claimed', 'reopened')) s
        ON s.cid = r.cid AND s.occurred_at <= r.occurred_at
),
quarter_ends AS (
    SELECT from_shanghai(generate_series) AS ends
    FROM generate_series(shanghai($from) + INTERVAL 3 MONTH, shanghai($to), INTERVAL 3 MONTH)
),
-- At a quarter's end: each open case, and the deadline in force for it (an overdue case's is past).
open_at_end AS (
    SELECT s.cid, q.ends, p.due_at, p.unit_id
    FROM (SELECT * FROM open_spans WHERE until >= (SELECT min(ends) FROM quarter_ends)) s
    JOIN quarter_ends q ON s.since < q.ends AND s.until >= q.ends
    LEFT JOIN (SELECT * FROM periods
               WHERE coalesce(superseded_at, 'infinity'::TIMESTAMP) >= (SELECT min(ends) FROM quarter_ends)) p
        ON p.cid = s.cid AND p.set_at < q.ends AND coalesce(p.superseded_at, 'infinity'::TIMESTAMP) >= q.ends
),
-- Working-day spans are (start, end] by local date: the start day never counts.
spans AS (
    SELECT 'accepted' AS item, cid, accepted_at AS counted_at, unit_id, asked_at AS started_at, accepted_at AS ended_at,
           NULL::BOOLEAN AS ok
    FROM responses WHERE accepted_at IS NOT NULL
    UNION ALL
    SELECT 'resolved', cid, occurred_at, unit_id, started_at, occurred_at, first FROM rounds
    UNION ALL
    -- A quarter-end state is dated a microsecond before the end, inside the quarter.
    SELECT 'overdue', cid, ends - INTERVAL 1 MICROSECOND, unit_id, due_at, ends - INTERVAL 1 MICROSECOND, NULL
    FROM open_at_end WHERE due_at < ends
),
items AS (
    SELECT 'received' AS item, cid, occurred_at AS counted_at, NULL AS unit_id, NULL::BOOLEAN AS ok, NULL AS tag,
           NULL::TIMESTAMP AS started_at, NULL::TIMESTAMP AS due_at, NULL::INTEGER AS days
    FROM ev WHERE kind = 'received'
    UNION ALL
    SELECT 'assigned', cid, assigned_at, unit_id, NULL, NULL, NULL, NULL, NULL FROM responses
    UNION ALL
    -- Accepted in time: known at the acceptance; else when the window closed or the unit
    -- declined, unless the case was closed before that.
    SELECT 'response', r.cid,
           CASE WHEN r.in_time THEN r.accepted_at
                WHEN least(r.accept_by, r.declined_at) < coalesce(j.closed_at, 'infinity'::TIMESTAMP)
                THEN least(r.accept_by, r.declined_at) END,
           r.unit_id, r.in_time, NULL, r.assigned_at, r.accept_by, NULL
    FROM responses r
    LEFT JOIN judged j ON j.cid = r.cid AND j.set_at = r.assigned_at
    UNION ALL
    SELECT 'deadline', cid,
           CASE WHEN on_time THEN closed_at
                WHEN due_at < coalesce(superseded_at, 'infinity'::TIMESTAMP)
                     AND due_at < coalesce(closed_at, 'infinity'::TIMESTAMP) THEN due_at END,
           unit_id, on_time, NULL, set_at, due_at, NULL
    FROM judged
    UNION ALL
    SELECT s.item, s.cid, s.counted_at, s.unit_id, s.ok, NULL, s.started_at,
           CASE WHEN s.item = 'overdue' THEN s.started_at END,  -- an overdue span starts at the deadline
           wb.n - wa.n
    FROM spans s
    LEFT JOIN kpi_workdays wa ON wa.day = CAST(shanghai(s.started_at) AS DATE)
    LEFT JOIN kpi_workdays wb ON wb.day = CAST(shanghai(s.ended_at) AS DATE)
    UNION ALL
    -- Verdicts and look-back answers get their unit in kpi_quarter_items: the case's lead unit.
    SELECT 'verdict', cid, occurred_at, unit_id, kind = 'verified', NULL, NULL, NULL, NULL
    FROM ev WHERE kind IN ('verified', 'reopened')
    UNION ALL
    SELECT 'lookback', e.cid, e.occurred_at, NULL, NULL,
           CASE e.kind WHEN 'lookback_no_response' THEN 'no_response' ELSE coalesce(l.satisfaction, 'unrated') END,
           NULL, NULL, NULL
    FROM ev e
    JOIN details d USING (event_id)
    LEFT JOIN lookbacks l USING (lookback_id)
    WHERE e.kind IN ('lookback_answered', 'lookback_no_response')
    UNION ALL
    SELECT kind, cid, occurred_at, unit_id, NULL, NULL, NULL, NULL, NULL
    FROM ev WHERE kind IN ('declined', 'expired', 'escalated', 'support_assigned')
    UNION ALL
    -- An open case belongs to the unit whose deadline is in force.
    SELECT 'open', cid, ends - INTERVAL 1 MICROSECOND, unit_id, NULL, NULL, NULL, NULL, NULL FROM open_at_end
)
SELECT quarter_index(counted_at) AS quarter, * EXCLUDE (counted_at)
FROM items
WHERE counted_at >= $from AND counted_at < $to
