"""Quarterly KPI benchmark (not a timed test): N generated cases with about ten events each,
built inside DuckDB with generate_series, then the quarterly KPI queries of one quarter with
its trend, timed in a fresh process so that its peak memory is the queries' own.

    .venv/bin/python benchmarks/bench_quarterly.py --cases 1000000

The cases arrive evenly over 2025–2026 in 20 communities and 200 units; each gets the events
the stages write (received, triaged, assigned, accepted or declined and re-routed, progress,
reminders, extensions, resolved, expired, escalated, look-backs that verify or reopen, closed)
with shares taken from practice. Target: the KPI queries of 2026-Q4 in at most 5 s on 2 cores,
measured cold (nothing published: every quarter of the trend derived from the events) and warm
(the earlier quarters published, as each quarterly run leaves them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liandong.settings import ReportSettings  # noqa: E402
from liandong.workdays import ChineseWorkCalendar  # noqa: E402
from tasks.report.kpis import compute_kpis, publish_quarters  # noqa: E402
from tasks.report.quarters import Quarter  # noqa: E402
from warehouse.store import open_warehouse  # noqa: E402

TARGET_SECONDS = 5.0

# One statement per blank-line-separated block. `gen`: one row per case with its random draws
# (r1…r9 in [0, 1)); `life`: the moments of its life. Every figure is a share of cases and
# every time an offset from receipt.
GENERATE_SQL = """
CREATE TEMP TABLE gen AS
SELECT i,
       'LD-' || year(received) || '-' || lpad(CAST(i AS VARCHAR), 7, '0') AS case_id,
       received,
       'c' || lpad(CAST(i % $communities AS VARCHAR), 2, '0') AS community_id,
       'g' || lpad(CAST(i % ($communities * 10) AS VARCHAR), 3, '0') AS grid_id,
       ['noise', 'sanitation', 'roads', 'public_order', 'elderly_care', 'property', 'greening',
        'parking', 'water', 'safety'][CAST(1 + hash(i, 'cat') % 10 AS BIGINT)] AS category,
       ['hotline', 'grid', 'open311'][CAST(1 + hash(i, 'src') % 3 AS BIGINT)] AS source,
       'u' || lpad(CAST(hash(i, 'lead') % $units AS VARCHAR), 3, '0') AS lead_unit,
       'u' || lpad(CAST(hash(i, 'next') % $units AS VARCHAR), 3, '0') AS next_unit,
       'u' || lpad(CAST(hash(i, 'support') % $units AS VARCHAR), 3, '0') AS support_unit,
       (hash(i, 1) % 1000) / 1000.0 AS r1, (hash(i, 2) % 1000) / 1000.0 AS r2,
       (hash(i, 3) % 1000) / 1000.0 AS r3, (hash(i, 4) % 1000) / 1000.0 AS r4,
       (hash(i, 5) % 1000) / 1000.0 AS r5, (hash(i, 6) % 1000) / 1000.0 AS r6,
       (hash(i, 7) % 1000) / 1000.0 AS r7, (hash(i, 8) % 1000) / 1000.0 AS r8,
       (hash(i, 9) % 1000) / 1000.0 AS r9
FROM (SELECT i, CAST($start AS TIMESTAMP) + to_seconds(CAST(i * $span // $n AS BIGINT)) AS received
      FROM generate_series(0, $n - 1) g(i))

CREATE TEMP TABLE life AS
SELECT *,
       lead_at + accept_after + resolve_after AS done_at,
       lead_at + accept_after + resolve_after + INTERVAL 30 DAY AS lookback_at
FROM (
    SELECT *,
           r1 < 0.08 AS declined,  -- the first lead declines and the case goes to the next unit
           CASE WHEN r1 < 0.08 THEN next_unit ELSE lead_unit END AS final_lead,
           case_id || CASE WHEN r1 < 0.08 THEN '/3' ELSE '/1' END AS final_assignment,
           received + INTERVAL 1 HOUR AS assigned_at,
           received + INTERVAL 1 DAY AS rerouted_at,
           CASE WHEN r1 < 0.08 THEN received + INTERVAL 1 DAY ELSE received + INTERVAL 1 HOUR END AS lead_at,
           r2 < 0.97 AS accepts,
           to_microseconds(CAST(r3 * 30 * 3600e6 AS BIGINT)) AS accept_after,  -- 80 % within the day's window
           r2 < 0.97 AND r4 < 0.97 AS resolves,
           to_microseconds(CAST((1 + r5 * 19) * 86400e6 AS BIGINT)) AS resolve_after,
           r6 < 0.10 AS extended,
           r2 < 0.97 AND r4 < 0.97 AND r7 < 0.75 AS looked_back,
           r8 < 0.85 AS answered,
           r8 >= 0.08 AS fixed,
           r9 AS misc_draw
    FROM gen
)

INSERT INTO cases (case_id, source, source_ref, channel, received_at, title, description, category, urgency,
                   community_id, grid_id, address, reporter_name, reporter_phone, status, status_reason,
                   duplicate_of, lead_unit_id, due_at, created_at, updated_at)
SELECT case_id, source, 'ref-' || i, 'hotline', received, '居民诉求 ' || i, '居民反映的问题', category, 'normal',
       community_id, grid_id, '星光路1号', '王小明', '13812345678', 'closed', NULL, NULL, final_lead,
       lead_at + INTERVAL 14 DAY, received, received
FROM life

-- assignments.due_at is moved in place by an extension, as tasks/chase does.
INSERT INTO assignments (assignment_id, case_id, unit_id, role, state, candidate_rank, accept_by, due_at,
                         route_detail, created_at, updated_at)
SELECT case_id || '/1', case_id, lead_unit, 'lead', 'accepted', 0, assigned_at + INTERVAL 1 DAY,
       assigned_at + CASE WHEN extended AND NOT declined THEN INTERVAL 21 DAY ELSE INTERVAL 14 DAY END,
       NULL, assigned_at, assigned_at FROM life
UNION ALL
SELECT case_id || '/2', case_id, support_unit, 'support', 'accepted', 0, assigned_at + INTERVAL 1 DAY,
       assigned_at + INTERVAL 14 DAY, NULL, assigned_at, assigned_at FROM life WHERE misc_draw < 0.3
UNION ALL
SELECT case_id || '/3', case_id, next_unit, 'lead', 'accepted', 1, rerouted_at + INTERVAL 1 DAY,
       rerouted_at + CASE WHEN extended THEN INTERVAL 21 DAY ELSE INTERVAL 14 DAY END,
       NULL, rerouted_at, rerouted_at FROM life WHERE declined

INSERT INTO case_events (case_id, occurred_at, actor, kind, from_status, to_status, unit_id, assignment_id, detail)
WITH ev AS (
    SELECT case_id, received AS t, 'received' AS kind, NULL AS f, 'new' AS s, NULL AS u, NULL AS a, NULL AS d FROM life
    UNION ALL SELECT case_id, received + INTERVAL 5 MINUTE, 'triaged', 'new', 'triaged', NULL, NULL,
                     '{"category": "' || category || '", "urgency": "normal"}' FROM life
    UNION ALL SELECT case_id, assigned_at, 'assigned', 'triaged', 'assigned', lead_unit, case_id || '/1',
                     '{"rule": {"category": "' || category || '", "lead": "kind:police_station"}, "chosen": "'
                     || lead_unit || '", "candidates": [{"unit_id": "' || lead_unit || '", "load": 3}]}' FROM life
    UNION ALL SELECT case_id, assigned_at, 'support_assigned', NULL, NULL, support_unit, case_id || '/2', NULL
              FROM life WHERE misc_draw < 0.3
    UNION ALL SELECT case_id, assigned_at + INTERVAL 3 HOUR, 'declined', NULL, NULL, lead_unit, case_id || '/1', NULL
              FROM life WHERE declined
    UNION ALL SELECT case_id, rerouted_at, 'assigned', 'assigned', 'assigned', next_unit, case_id || '/3', NULL
              FROM life WHERE declined
    UNION ALL SELECT case_id, lead_at + accept_after, 'accepted', 'assigned', 'in_progress', final_lead,
                     final_assignment, NULL FROM life WHERE accepts
    UNION ALL SELECT case_id, lead_at + INTERVAL 2 DAY, 'expired', NULL, NULL, final_lead, final_assignment, NULL
              FROM life WHERE NOT accepts
    UNION ALL SELECT case_id, lead_at + INTERVAL 3 DAY, 'progress_reported', NULL, NULL, final_lead,
                     final_assignment, NULL FROM life WHERE accepts AND misc_draw < 0.5
    UNION ALL SELECT case_id, lead_at + INTERVAL 10 DAY, 'extension_granted', NULL, NULL, final_lead,
                     final_assignment, '{"from_due": "' || strftime(lead_at + INTERVAL 14 DAY, '%Y-%m-%dT%H:%M:%S')
                     || '", "to_due": "' || strftime(lead_at + INTERVAL 21 DAY, '%Y-%m-%dT%H:%M:%S') || '"}'
              FROM life WHERE accepts AND extended
    UNION ALL SELECT case_id, lead_at + INTERVAL 15 DAY, 'overdue', NULL, NULL, final_lead, final_assignment, NULL
              FROM life WHERE accepts AND NOT extended AND resolve_after > INTERVAL 14 DAY
    UNION ALL SELECT case_id, lead_at + INTERVAL 18 DAY, 'escalated', NULL, NULL, final_lead, final_assignment, NULL
              FROM life WHERE misc_draw > 0.97
    UNION ALL SELECT case_id, done_at, 'done_reported', 'in_progress', 'resolved', final_lead, final_assignment, NULL
              FROM life WHERE resolves
    UNION ALL SELECT case_id, done_at, 'lookback_scheduled', NULL, NULL, NULL, NULL,
                     '{"lookback_id": "' || case_id || '/L1"}' FROM life WHERE resolves
    UNION ALL SELECT case_id, lookback_at, 'lookback_asked', NULL, NULL, NULL, NULL,
                     '{"lookback_id": "' || case_id || '/L1"}' FROM life WHERE looked_back
    UNION ALL SELECT case_id, lookback_at + INTERVAL 1 DAY, 'lookback_answered', NULL, NULL, NULL, NULL,
                     '{"lookback_id": "' || case_id || '/L1"}' FROM life WHERE looked_back AND answered
    UNION ALL SELECT case_id, lookback_at + INTERVAL 10 DAY, 'lookback_no_response', NULL, NULL, NULL, NULL,
                     '{"lookback_id": "' || case_id || '/L1"}' FROM life WHERE looked_back AND NOT answered
    UNION ALL SELECT case_id, lookback_at + INTERVAL 25 HOUR, 'verified', 'resolved', 'verified', NULL, NULL, NULL
              FROM life WHERE looked_back AND answered AND fixed
    UNION ALL SELECT case_id, lookback_at + INTERVAL 25 HOUR, 'closed', 'verified', 'closed', NULL, NULL, NULL
              FROM life WHERE looked_back AND answered AND fixed
    UNION ALL SELECT case_id, lookback_at + INTERVAL 25 HOUR, 'reopened', 'resolved', 'reopened', final_lead,
                     case_id || '/4', '{"due_at": "' || strftime(lookback_at + INTERVAL 15 DAY, '%Y-%m-%dT%H:%M:%S')
                     || '"}' FROM life WHERE looked_back AND answered AND NOT fixed
    UNION ALL SELECT case_id, lookback_at + INTERVAL 8 DAY, 'done_reported', 'reopened', 'resolved', final_lead,
                     case_id || '/4', NULL FROM life WHERE looked_back AND answered AND NOT fixed
)
SELECT case_id, t, 'system', kind, f, s, u, a, d FROM ev

INSERT INTO lookbacks (lookback_id, case_id, due_at, contact_email, state, fixed, satisfaction, asked_at,
                       answered_at, created_at, updated_at)
SELECT case_id || '/L1', case_id, lookback_at, 'grid@example.cn',
       CASE WHEN NOT looked_back THEN 'scheduled' WHEN answered THEN 'answered' ELSE 'no_response' END,
       CASE WHEN looked_back AND answered THEN fixed END,
       CASE WHEN NOT (looked_back AND answered) THEN NULL WHEN misc_draw < 0.6 THEN 'satisfied'
            WHEN misc_draw < 0.85 THEN 'basically_satisfied' WHEN misc_draw < 0.97 THEN 'dissatisfied' END,
       CASE WHEN looked_back THEN lookback_at END,
       CASE WHEN looked_back AND answered THEN lookback_at + INTERVAL 1 DAY END,
       done_at, lookback_at + INTERVAL 10 DAY
FROM life WHERE resolves

INSERT INTO meetings (meeting_id, community_id, kind, starts_at, chair_unit_id, status, sequence, created_at,
                      updated_at)
SELECT 'm' || i, 'c' || lpad(CAST(i % $communities AS VARCHAR), 2, '0'), CASE WHEN i % 3 = 0 THEN 'adhoc' ELSE 'regular' END,
       TIMESTAMP '2025-01-06 02:00:00' + to_minutes(CAST(i * 504 AS BIGINT)), 'u' || lpad(CAST(i % $units AS VARCHAR), 3, '0'),
       'held', 0, TIMESTAMP '2025-01-01', TIMESTAMP '2025-01-01'
FROM generate_series(0, 2079) g(i)

INSERT INTO agenda_items (meeting_id, position, case_id, item_kind, proposed_decision, decision, decided_at)
SELECT 'm' || (g.i // 5), g.i % 5, life.case_id, 'case', '限期办理', 'done',
       TIMESTAMP '2025-01-06 03:00:00' + to_minutes(CAST((g.i // 5) * 504 AS BIGINT))
FROM generate_series(0, 10399) g(i)
JOIN life ON life.i = g.i * 97 % $n
"""


def generate(path: Path, cases: int, *, communities: int = 20, units: int = 200, years: int = 2) -> dict[str, float]:
    """The cases arrive evenly over the `years` ending with 2026 (Asia/Shanghai)."""
    params = {"n": cases, "communities": communities, "units": units, "span": years * 365 * 86400,
              "start": datetime(2026 - years, 12, 31, 16)}
    with open_warehouse(path) as wh:
        t0 = time.perf_counter()
        for statement in filter(str.strip, GENERATE_SQL.split("\n\n")):
            used = {k: v for k, v in params.items() if f"${k}" in statement}
            wh.execute(statement, used or None)
        counts = {t: wh.scalar(f"SELECT count(*) FROM {t}") for t in ("cases", "case_events", "assignments", "lookbacks")}
        counts["generate_seconds"] = round(time.perf_counter() - t0, 1)
    return counts


def measure(path: Path, repeat: int) -> dict[str, object]:
    """In this (fresh) process: the KPIs of 2026-Q4 with its four trend quarters. First cold, with
    nothing published, so all five quarters come from the events; then, with those published as
    a quarterly run leaves them, `repeat` warm runs, the steady state of a run each quarter."""
    calendar, options, quarter = ChineseWorkCalendar(), ReportSettings(), Quarter(2026, 4)
    runs = []
    with open_warehouse(path) as wh:
        for n in range(repeat + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            kpis = compute_kpis(wh, calendar, quarter, None, options)
            runs.append({"seconds": round(time.perf_counter() - t0, 2), "cpu_seconds": round(time.process_time() - c0, 2),
                         "quarters_derived": len(kpis.computed)})
            if n == 0:
                publish_quarters(wh, kpis, datetime.now())
        items = wh.scalar("SELECT count(*) FROM kpi_items")
    overall = kpis.overall()
    return {"cold": runs[0], "warm": runs[1:], "kpi_items_warm": items,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "received": overall["received"], "response_rate": overall["response_rate"],
            "on_time_rate": overall["on_time_rate"], "satisfaction_rate": overall["satisfaction_rate"],
            "resolve_days_median": overall["resolve_days_median"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        built = generate(path, args.cases)
        print(f"generated {built['cases']:,} cases, {built['case_events']:,} events, "
              f"{built['assignments']:,} assignments, {built['lookbacks']:,} look-backs "
              f"in {built['generate_seconds']} s")
        load_before = os.getloadavg()
        child = subprocess.run([sys.executable, __file__, "--measure", str(path), "--repeat", str(args.repeat)],
                               check=True, capture_output=True, text=True)
        result = {**built, **json.loads(child.stdout.strip().splitlines()[-1]),
                  "load_average": [load_before, os.getloadavg()]}
    warm = min(r["seconds"] for r in result["warm"])
    print(f"quarterly KPIs of 2026-Q4, 4 trend quarters; {result['kpi_items_warm']:,} items counted when warm")
    print(f"  cold (all five quarters from the events): {result['cold']['seconds']} s, "
          f"{result['cold']['cpu_seconds']} s CPU")
    print(f"  warm (earlier quarters as published): {[r['seconds'] for r in result['warm']]} s, "
          f"{[r['cpu_seconds'] for r in result['warm']]} s CPU; best {warm} s "
          f"(target ≤ {TARGET_SECONDS} s: {'met' if warm <= TARGET_SECONDS else 'MISSED'})")
    print(f"  peak memory {result['peak_rss_mib']} MiB; load average before/after "
          f"{[round(x, 1) for x in result['load_average'][0]]} / {[round(x, 1) for x in result['load_average'][1]]}")
    print(f"2026-Q4: {result['received']:,} received, response {result['response_rate']:.1%}, "
          f"on time {result['on_time_rate']:.1%}, satisfied {result['satisfaction_rate']:.1%}, "
          f"median {result['resolve_days_median']} working days to resolve")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quarterly.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
