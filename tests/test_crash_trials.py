"""Crash trials: a nightly run SIGKILLed at seeded points of intake, triage, reply ingestion,
routing and sending, chasing and the look-back, then run again; every invariant
(liandong/invariants.py) must hold, and the night must end as a night without a crash ends.

The prepared home is three demo nights old (demo roster, demo exports, the demo's contacts
answering), so the trial night has new exports to read, replies to apply (accepts, declines,
dones), cases to route and notify, deadlines to chase and look-backs to ask. Each trial starts
from a copy of it. The night runs in a child of tests/support/crash_night.py (see there why
without Prefect's engine); the kill is a real SIGKILL of that process.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from liandong.invariants import Violation, check, in_flight
from liandong.settings import Settings, load_settings
from tests.support.crash_night import STAGES
from warehouse.store import open_warehouse

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
SEED = 20261122
TRIALS = 21  # three or four per stage
TRIAL_NIGHT = "2026-11-20T02:00:00+08:00"
# (night, exports that arrived before it); the contacts answer after each night: accepts and
# declines the next night, dones four days after an accept (demo/contacts.py).
PREPARATION = [
    ("2026-11-05T02:00:00+08:00", ["2026-11-02_12345热线.csv", "2026-11-03_网格平台.xlsx", "2026-11-04_城市放大镜.jsonl"]),
    ("2026-11-06T02:00:00+08:00", ["2026-11-06_12345热线.csv"]),
    ("2026-11-11T02:00:00+08:00", []),
    ("2026-11-12T02:00:00+08:00", ["2026-11-09_12345热线_重发.csv", "2026-11-10_网格平台.xlsx"]),
    ("2026-11-16T02:00:00+08:00", ["2026-11-12_12345热线.csv"]),
]
TRIAL_EXPORTS = ["2026-11-16_城市放大镜.jsonl", "2026-11-18_网格平台.csv"]


class Zygote:
    """tests/support/crash_night.py, started once; one forked child per night."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.support.crash_night"], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, home: Path, as_of: str, kill: dict[str, Any] | None = None, answer_mail: bool = False) -> dict:
        env = {"LIANDONG_HOME": str(home), "LIANDONG_ROSTER_PATH": str(DEMO / "roster.yaml"),
               "LIANDONG_SETTINGS_FILE": str(home / "no-settings-file.yaml")}
        request = {"env": env, "as_of": as_of, "kill": kill, "answer_mail": answer_mail,
                   "log": str(home.parent / f"{home.name}.log"), "trace": str(home.parent / f"{home.name}.trace")}
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(30)


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    z = Zygote()
    yield z
    z.close()


def settings_of(home: Path) -> Settings:
    return load_settings(home=home, roster_path=DEMO / "roster.yaml")


def night(zygote: Zygote, home: Path, as_of: str, **options: Any) -> dict:
    answer = zygote.run(home, as_of, **options)
    if not options.get("kill"):
        log = home.parent / f"{home.name}.log"
        assert answer["exit"] == 0, log.read_text(errors="replace")[-3000:] if log.exists() else answer
    return answer


def fingerprint(home: Path) -> dict[str, Any]:
    """What a coordinator would compare between two nights: counts by state of everything."""
    queries = {
        "cases": "SELECT status, count(*) FROM cases GROUP BY ALL",
        "quarantine": "SELECT source, count(*) FROM quarantine GROUP BY ALL",
        "inbound": "SELECT outcome, coalesce(intent, ''), count(*) FROM inbound_messages GROUP BY ALL",
        "assignments": "SELECT role, state, count(*) FROM assignments GROUP BY ALL",
        "messages": "SELECT purpose, state, count(*) FROM messages GROUP BY ALL",
        "lookbacks": "SELECT state, count(*) FROM lookbacks GROUP BY ALL",
        "attention": "SELECT kind, count(*) FROM attention_items GROUP BY ALL",
        "events": "SELECT kind, count(*) FROM case_events GROUP BY ALL",
        "files": "SELECT count(*), sum(rows_read), sum(rows_new), sum(rows_quarantined) FROM source_files",
    }
    with open_warehouse(settings_of(home).warehouse_path, read_only=True) as wh:
        return {name: sorted(map(tuple, wh.execute(sql).fetchall()), key=str) for name, sql in queries.items()}


@dataclass
class Prepared:
    home: Path  # before the trial night
    after: Path  # after it, without a crash
    commits: dict[str, int]
    seconds: dict[str, float]
    clean: dict[str, Any]


def trace_of(home: Path) -> list[dict]:
    path = home.parent / f"{home.name}.trace"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def prepared(zygote: Zygote, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    root = tmp_path_factory.mktemp("crash")
    base = root / "base"
    drop = base / "drop"
    drop.mkdir(parents=True)
    for as_of, exports in PREPARATION:
        for name in exports:
            shutil.copy(DEMO / "cases" / name, drop / name)
        night(zygote, base, as_of)
        night(zygote, base, as_of, answer_mail=True)
    for name in TRIAL_EXPORTS:
        shutil.copy(DEMO / "cases" / name, drop / name)

    clean = root / "clean"
    shutil.copytree(base, clean, symlinks=True)
    night(zygote, clean, TRIAL_NIGHT)
    assert check(settings_of(clean)) == [], "a night without a crash must keep every invariant"
    events = trace_of(clean)
    starts = {e["stage"]: e["t"] for e in events if e["event"] == "start"}
    ends = {e["stage"]: e for e in events if e["event"] == "end"}
    return Prepared(base, clean, {s: ends[s]["commits"] for s in STAGES},
                    {s: ends[s]["t"] - starts[s] for s in STAGES}, fingerprint(clean))


def test_the_trial_night_does_something_in_every_stage(prepared: Prepared):
    clean = prepared.clean
    statuses = dict(clean["cases"])
    assert clean["files"][0][0] >= 8 and statuses.get("assigned", 0) > 10
    assert {intent for _, intent, _ in clean["inbound"]} >= {"accept", "decline", "done"}
    assert dict(clean["lookbacks"]).get("asked", 0) > 0
    assert all(prepared.commits[stage] > 0 for stage in STAGES), prepared.commits


def plans(prepared: Prepared) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    out = []
    for i in range(TRIALS):
        stage = STAGES[i % len(STAGES)]
        mode = ("before_commit", "after_commit", "timer", "timer")[(i // len(STAGES)) % 4]
        if mode == "timer":
            out.append({"stage": stage, "mode": mode, "delay": round(rng.uniform(0, 0.9 * prepared.seconds[stage]), 3)})
        else:
            out.append({"stage": stage, "mode": mode, "n": rng.randint(1, prepared.commits[stage])})
    return out


def test_killed_anywhere_then_rerun_nothing_is_lost_or_doubled(prepared: Prepared, zygote: Zygote,
                                                               tmp_path: Path):
    report, failures = [], []
    for i, kill in enumerate(plans(prepared)):
        home = tmp_path / f"trial-{i:02d}"
        shutil.copytree(prepared.home, home)
        crashed = night(zygote, home, TRIAL_NIGHT, kill=kill)
        assert crashed["exit"] in (0, None), (home.parent / f"{home.name}.log").read_text()[-3000:]
        settings = settings_of(home)
        with open_warehouse(settings.warehouse_path) as wh:  # invariant 4 right after the kill
            flying = in_flight(wh)
        night(zygote, home, TRIAL_NIGHT)
        violations: list[Violation] = check(settings, allowed_repeats=flying)
        differs = {k: v for k, v in fingerprint(home).items() if v != prepared.clean[k]}
        report.append((kill, crashed["killed"], len(flying), len(violations)))
        if violations or differs:
            failures.append((kill, [str(v) for v in violations[:10]], differs))
        shutil.rmtree(home)
    killed = sum(1 for _, k, _, _ in report if k)
    print(f"\ncrash trials: {len(report)} run, {killed} killed mid-run, "
          f"{sum(f for *_, f, _ in report)} messages in flight at a kill, {len(failures)} with violations")
    assert not failures, failures
    assert killed >= 20, report


def test_each_invariant_catches_what_it_is_for(prepared: Prepared, tmp_path: Path):
    """The checks can fail: each planted fault is reported under its invariant, naming it."""
    home = tmp_path / "planted"
    shutil.copytree(prepared.after, home)
    settings = settings_of(home)
    with open_warehouse(settings.warehouse_path) as wh:
        lost_row = wh.rows("SELECT quarantine_id, location FROM quarantine ORDER BY quarantine_id LIMIT 1")[0]
        wh.execute("DELETE FROM quarantine WHERE quarantine_id = ?", [lost_row["quarantine_id"]])
        applied = wh.rows("SELECT * FROM case_events WHERE inbound_id IS NOT NULL AND kind = 'accepted' LIMIT 1")[0]
        wh.append("case_events", [{k: v for k, v in applied.items() if k != "event_id"}])
        moved = wh.rows("SELECT case_id FROM cases WHERE status = 'assigned' ORDER BY case_id LIMIT 1")[0]["case_id"]
        wh.execute("UPDATE cases SET status = 'closed' WHERE case_id = ?", [moved])
        unlisted = wh.scalar("SELECT inbound_id FROM inbound_messages WHERE outcome = 'applied' LIMIT 1")
        wh.execute("UPDATE inbound_messages SET outcome = 'attention' WHERE inbound_id = ?", [unlisted])
        sent = wh.scalar("SELECT message_id FROM messages WHERE state = 'sent' ORDER BY message_id LIMIT 1")
    outbox = settings.outbox_folder / "new"
    twice = next(p for p in outbox.iterdir() if f"<{sent}>".encode() in p.read_bytes())
    shutil.copy(twice, outbox / f"{twice.name}.again")

    found = {(v.invariant, v.ref) for v in check(settings)}

    assert ("nothing-lost", lost_row["location"]) in found  # the archived file's row, read again
    assert ("nothing-lost", unlisted) in found  # "for the coordinator" but on no list
    assert any(inv == "no-double-effect" and ref.startswith(applied["inbound_id"]) for inv, ref in found)
    assert ("replay", moved) in found
    assert ("no-double-effect", sent) in found
    assert ("no-double-effect", sent) not in {(v.invariant, v.ref) for v in check(settings, allowed_repeats=[sent])}

    operator = subprocess.run([sys.executable, "-m", "liandong.invariants"], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "LIANDONG_HOME": str(home), "LIANDONG_ROSTER_PATH": str(DEMO / "roster.yaml"),
                                   "LIANDONG_SETTINGS_FILE": str(home / "none.yaml")}, timeout=120)
    assert operator.returncode == 1 and f"[replay] {moved}:" in operator.stdout, operator.stdout + operator.stderr
    assert "违反 / violations" in operator.stderr

    (settings.warehouse_path).write_bytes(b"not a duckdb file" * 100)
    assert [v.invariant for v in check(settings)] == ["opens"]
