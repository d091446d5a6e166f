"""What DuckLake does when two processes write the warehouse at the same moment, scenario by
scenario, with the product's own SQL and functions (docs/scale-out.md, tests/test_scale_out.py).

Each scenario runs two processes that open the lake, start a transaction, write, wait for each
other (so both transactions are open at once), and commit. What each commit did is reported:

| scenario | what the two processes do |
|---|---|
| append | both append `case_events` rows (DuckLake's own commit retry makes both land) |
| append-no-retry | the same with `ducklake_max_retry_count = 0`: the second commit fails |
| update | both update `cases` (different rows): the second commit conflicts; the stage is re-run |
| replace-empty | both replace the (empty) `communities` table, as the roster sync does: nothing to delete, so no conflict, and every row twice |
| numbering | both number new cases (`next_case_numbers`, max + 1) and append them: both commit, same numbers |
| skip-existing | both `append(..., skip_existing=True)` the same `source_files` row: both commit, a duplicate |

    LIANDONG_LAKE__CATALOG='dbname=… host=… user=…' LIANDONG_LAKE__CATALOG_PASSWORD=… \
        LIANDONG_LAKE__DATA_PATH=/srv/lake/ .venv/bin/python scripts/scale_out/lake_conflicts.py
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from warehouse.lake import LakeConfig, is_conflict, open_lake, retry_on_conflict  # noqa: E402

SCENARIOS = ("append", "append-no-retry", "update", "replace-empty", "numbering", "skip-existing")
NOW = datetime(2026, 11, 21, 2, 0)


@dataclass
class Outcome:
    scenario: str
    process: int
    result: str               # committed | conflict | failed: …
    attempts: int = 1
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _write(wh, scenario: str, index: int) -> None:
    from tasks.intake.loading import next_case_numbers

    if scenario in ("append", "append-no-retry"):
        wh.execute("INSERT INTO case_events (case_id, occurred_at, actor, kind, run_id) "
                   "SELECT 'LD-2026-000001', ?, 'system', 'note', ? FROM range(1000)", [NOW, f"p{index}"])
    elif scenario == "update":
        wh.execute("UPDATE cases SET status = 'triaged', updated_at = ? WHERE case_id = ?",
                   [NOW, f"LD-2026-00000{index + 1}"])
    elif scenario == "replace-empty":
        wh.execute("DELETE FROM communities")
        wh.append("communities", [{"community_id": c, "name": c, "coordinator_email": f"{c}@example.cn",
                                   "meeting_cadence": "monthly"} for c in ("xingguang", "donghu", "qiaoxi")])
    elif scenario == "numbering":
        ids = next_case_numbers(wh, 2026, 3)
        wh.append("cases", [{"case_id": case_id, "source": f"drop:p{index}", "source_ref": f"r{n}", "received_at": NOW,
                             "title": "t", "description": "d", "urgency": "normal", "status": "new",
                             "created_at": NOW, "updated_at": NOW} for n, case_id in enumerate(ids)])
    elif scenario == "skip-existing":
        wh.append("source_files", [{"sha256": "same-file", "source": "drop:x", "file_name": "x.csv", "rows_read": 1,
                                    "rows_new": 1, "rows_quarantined": 0, "processed_at": NOW}], skip_existing=True)


def _child(config: LakeConfig, index: int, barrier, inbox, results) -> None:
    """One of the two writers: runs each scenario the parent sends, until None."""
    for scenario in iter(inbox.get, None):
        results.put(_play(config, scenario, index, barrier))


def _play(config: LakeConfig, scenario: str, index: int, barrier) -> Outcome:
    outcome = Outcome(scenario, index, "")
    started = time.monotonic()
    first = [True]

    def once() -> None:
        with open_lake(config) as wh:
            if scenario == "append-no-retry":
                wh.execute("SET ducklake_max_retry_count = 0")
            if first[0]:
                barrier.wait(120)  # both start together
            wh.execute("BEGIN TRANSACTION")
            _write(wh, scenario, index)
            if first[0]:  # both transactions are open and have written before either commits
                first[0] = False
                barrier.wait(120)
            wh.execute("COMMIT")

    def conflicted(attempt: int, exc: BaseException) -> None:
        outcome.attempts = attempt + 1
        outcome.errors.append(str(exc).splitlines()[-1][:200])

    try:
        if scenario == "update":  # a stage is re-run on conflict (it re-reads what it acts on)
            retry_on_conflict(once, attempts=3, on_conflict=conflicted)
            outcome.result = "committed" if not outcome.errors else "conflict, committed on retry"
        else:
            once()
            outcome.result = "committed"
    except Exception as exc:  # noqa: BLE001 - reported, not raised: the outcome is the point
        outcome.errors.append(" ".join(str(exc).split())[:300])
        outcome.result = "conflict" if is_conflict(exc) else f"failed: {type(exc).__name__}"
    outcome.seconds = round(time.monotonic() - started, 2)
    return outcome


def _seed(wh) -> None:
    with wh.transaction():
        for table in ("cases", "case_events", "source_files", "communities"):
            wh.execute(f"DELETE FROM {table}")
        wh.append("cases", [{"case_id": f"LD-2026-00000{n}", "source": "drop:seed", "source_ref": str(n),
                             "received_at": NOW, "title": "t", "description": "d", "urgency": "normal",
                             "status": "new", "created_at": NOW, "updated_at": NOW} for n in (1, 2)])


def _after(wh) -> dict[str, int]:
    return {name: wh.scalar(sql) for name, sql in {
        "cases": "SELECT count(*) FROM cases",
        "distinct_case_ids": "SELECT count(DISTINCT case_id) FROM cases",
        "triaged": "SELECT count(*) FROM cases WHERE status = 'triaged'",
        "case_events": "SELECT count(*) FROM case_events",
        "distinct_event_ids": "SELECT count(DISTINCT event_id) FROM case_events",
        "source_files": "SELECT count(*) FROM source_files",
        "communities": "SELECT count(*) FROM communities",
    }.items()}


def run_scenarios(config: LakeConfig, scenarios: tuple[str, ...] = SCENARIOS
                  ) -> dict[str, tuple[list[Outcome], dict[str, int]]]:
    """Each scenario with the same two writer processes; then what the lake holds."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    inboxes = [ctx.Queue(), ctx.Queue()]
    procs = [ctx.Process(target=_child, args=(config, i, barrier, inboxes[i], results), daemon=True) for i in range(2)]
    for p in procs:
        p.start()
    found = {}
    try:
        with open_lake(config) as wh:  # creates the tables on a fresh lake; seeds and reads each scenario
            for scenario in scenarios:
                _seed(wh)
                for inbox in inboxes:
                    inbox.put(scenario)
                outcomes = sorted((results.get(timeout=300) for _ in procs), key=lambda o: o.process)
                found[scenario] = (outcomes, _after(wh))
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    return found


def main() -> None:
    from liandong.settings import load_settings

    lake = load_settings().lake
    config = LakeConfig.of(lake)
    for scenario, (outcomes, after) in run_scenarios(config).items():
        print(f"== {scenario}: " + " | ".join(f"p{o.process}: {o.result} ({o.attempts} attempt(s), {o.seconds} s)"
                                              for o in outcomes))
        for o in outcomes:
            for e in o.errors:
                print(f"   p{o.process}: {e}")
        print(f"   then: {after}")


if __name__ == "__main__":
    main()
