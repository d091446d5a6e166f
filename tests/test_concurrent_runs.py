"""Two flow runs in two processes writing one warehouse at once: the Prefect concurrency limit
`warehouse-writer` serialises them. The store's own lock wait is set to zero, so without the
limit the second writer would fail at once on DuckDB's file lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL

from benchmarks.bench_intake import generate
from liandong.roster import load_roster
from liandong.settings import Settings
from warehouse.store import open_warehouse

pytestmark = pytest.mark.prefect
ROOT = Path(__file__).resolve().parent.parent
ROWS = 3000
RUN = ("import sys; from flows.nightly_coordination import nightly_coordination as f; "
       "s = f(as_of=sys.argv[1], return_state=True); print(s.type.value); sys.exit(0 if s.is_completed() else 1)")


def test_two_nightly_runs_at_once_both_complete_and_nothing_is_doubled(prefect_harness, settings: Settings):
    # Enough cases that each run holds the warehouse for seconds, so the two runs overlap.
    generate(settings.drop_folder / "2026-11-20_12345热线.csv", ROWS, load_roster(ROOT / "demo" / "roster.yaml"))
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "LIANDONG_WAREHOUSE_LOCK_TIMEOUT": "0",
           "LIANDONG_ROSTER_PATH": str(ROOT / "demo" / "roster.yaml")}
    runs = [subprocess.Popen([sys.executable, "-c", RUN, as_of], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
            for as_of in ("2026-11-21T02:00:00+08:00", "2026-11-21T02:00:05+08:00")]
    outputs = [r.communicate(timeout=400)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], "\n\n".join(o[-3000:] for o in outputs)
    assert "could not set lock" not in "".join(outputs).lower()
    with open_warehouse(settings.warehouse_path) as wh:
        cases = wh.scalar("SELECT count(*) FROM cases")
        assert cases == wh.scalar("SELECT count(DISTINCT (source, source_ref)) FROM cases") == ROWS
        assert wh.scalar("SELECT count(*) FROM assignments WHERE role = 'lead'") == \
            wh.scalar("SELECT count(DISTINCT case_id) FROM assignments WHERE role = 'lead'")
        assert wh.scalar("SELECT count(*) FROM messages") == wh.scalar("SELECT count(DISTINCT idempotency_key) FROM messages")


HOLD = ("import sys, time; from prefect import flow; from liandong.locking import warehouse_writer\n"
        "@flow\ndef hold():\n    with warehouse_writer():\n        print('holding', flush=True); time.sleep(600)\n"
        "hold()")


def test_a_writer_killed_while_holding_the_warehouse_does_not_block_the_next(prefect_harness, settings: Settings):
    """SIGKILL leaves the slot taken on the server (the harness, like `make demo`'s ephemeral server,
    never repossesses it); the next writer finds the holder gone and frees it."""
    from prefect import flow

    from liandong.locking import CHECK_HOLDER_SECONDS, warehouse_writer

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    holder = subprocess.Popen([sys.executable, "-c", HOLD], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
    finally:
        holder.kill()
        holder.wait()

    @flow(timeout_seconds=120)  # without the freeing it would wait for ever
    def write_after_the_crash() -> float:
        started = time.monotonic()
        with warehouse_writer():
            return time.monotonic() - started

    state = write_after_the_crash(return_state=True)
    assert state.is_completed(), state.message
    waited = state.result()
    assert waited < 3 * CHECK_HOLDER_SECONDS  # freed at the first look, not after a lease or forever
