"""A nightly run that can be SIGKILLed at a chosen point, for the crash trials (tests/test_crash_trials.py).

    python -m tests.support.crash_night

is a "zygote": it imports everything once (~4 s), then reads one JSON request per line on stdin
and forks a child process per request, which runs the night's stages on a Liandong home and may
kill itself with SIGKILL at the point the request names; the zygote answers one JSON line per
request (how the child ended, the stages it got through). Forking saves the import per run, so
twenty trials of a kill and a rerun fit in a minute and a half.

The child runs the nightly flow's stages (flows/nightly_coordination.py, same order, same task
functions, through `Task.fn`) without Prefect's engine: a flow under the engine takes 20–45 s on
this machine whatever the data, and what a crash can break is in the warehouse, the mail folders
and the files, which the stages own. Joint meetings are left out (they wait for decisions).

Kill points (`kill`): {"stage": S, "mode": "before_commit" | "after_commit", "n": N} kills at the
N-th warehouse transaction of stage S, with its work done and its COMMIT not sent yet, or just
after it committed (before the files it covers move); {"stage": S, "mode": "timer", "delay": T}
kills T seconds after stage S started, wherever the run then is.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

STAGES = ("intake", "triage", "replies", "assignment", "chase", "lookback")


def stage_calls() -> list[tuple[str, list[Callable[[Any, datetime, str], Any]]]]:
    """The nightly's stages as the flows run them (flows/*.py), minus Prefect."""
    from tasks.chase import chase_ladder_task, expire_unaccepted_task, grant_extensions_task
    from tasks.intake import pull_drop_folder_task, pull_open311_task, sync_roster_task
    from tasks.lookback import apply_answers_task, ask_and_remind_task
    from tasks.mail import deliver_outbox_task
    from tasks.replies import ingest_replies_task
    from tasks.routing import queue_notices_task, route_cases_task
    from tasks.triage import triage_task

    def deliver(s, a, r):
        return deliver_outbox_task.fn(s, a)

    return [
        ("intake", [lambda s, a, r: sync_roster_task.fn(s), pull_drop_folder_task.fn, pull_open311_task.fn]),
        ("triage", [triage_task.fn]),
        ("replies", [ingest_replies_task.fn, deliver]),
        ("assignment", [route_cases_task.fn, lambda s, a, r: queue_notices_task.fn(s, a), deliver]),
        ("chase", [expire_unaccepted_task.fn, lambda s, a, r: grant_extensions_task.fn(s, [], a, r),
                   chase_ladder_task.fn, deliver]),
        ("lookback", [apply_answers_task.fn, ask_and_remind_task.fn, deliver]),
    ]


class KillPlan:
    """Counts the warehouse transactions of each stage and SIGKILLs the process where asked."""

    def __init__(self, kill: dict[str, Any] | None, trace: Callable[[dict[str, Any]], None]):
        self.kill, self.trace = kill or {}, trace
        self.stage, self.commits = "", 0

    def enter(self, stage: str) -> None:
        self.stage, self.commits = stage, 0
        self.trace({"stage": stage, "event": "start", "t": time.monotonic()})
        if self.kill.get("stage") == stage and self.kill.get("mode") == "timer":
            timer = threading.Timer(float(self.kill["delay"]), self._die, args=("timer",))
            timer.daemon = True
            timer.start()

    def leave(self) -> None:
        self.trace({"stage": self.stage, "event": "end", "t": time.monotonic(), "commits": self.commits})

    def at_commit(self, moment: str) -> None:
        if moment == "before_commit":
            self.commits += 1
        if (self.kill.get("stage"), self.kill.get("mode"), self.kill.get("n")) == (self.stage, moment, self.commits):
            self._die(moment)

    def _die(self, why: str) -> None:
        self.trace({"stage": self.stage, "event": "kill", "why": why, "commits": self.commits})
        os.kill(os.getpid(), signal.SIGKILL)


def install(plan: KillPlan) -> None:
    from warehouse.store import Warehouse

    original = Warehouse.transaction

    @contextmanager
    def transaction(self: Warehouse) -> Iterator[Warehouse]:
        with original(self) as wh:
            yield wh
            plan.at_commit("before_commit")  # the work is done; COMMIT is sent when this block ends
        plan.at_commit("after_commit")

    Warehouse.transaction = transaction  # type: ignore[method-assign]


def run_night(as_of: datetime, kill: dict[str, Any] | None, trace_path: str) -> None:
    """In the child: the stages in order, with the kill plan installed."""
    from liandong.settings import load_settings

    with open(trace_path, "a", encoding="utf-8") as trace_file:
        def trace(event: dict[str, Any]) -> None:
            trace_file.write(json.dumps(event) + "\n")
            trace_file.flush()

        plan = KillPlan(kill, trace)
        install(plan)
        run_stages(load_settings(), as_of, f"crash-trial-{os.getpid()}", plan)


def run_stages(settings: Any, as_of: datetime, run_id: str, plan: KillPlan | None = None) -> None:
    """The night's stages in order (in this process when `plan` is None: tests that need a
    night's effects quickly, such as the hostile-input ones)."""
    for stage, calls in stage_calls():
        if plan:
            plan.enter(stage)
        for call in calls:
            call(settings, as_of, run_id)
        if plan:
            plan.leave()


def answer_mail(as_of: datetime) -> None:
    """The demo's unit contacts answer the night's mail into the inbox (demo/contacts.py)."""
    from demo.contacts import answer_mail as answer
    from liandong.settings import load_settings

    answer(load_settings(), as_of, set())


def serve() -> None:
    # Imported once here, before any fork: every child starts warm.
    import demo.contacts  # noqa: F401
    import tasks.intake  # noqa: F401

    stage_calls()
    for line in sys.stdin:
        request = json.loads(line)
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        answer = {"killed": os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
                  "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                  "seconds": round(time.monotonic() - started, 3)}
        print(json.dumps(answer), flush=True)


def _child(request: dict[str, Any]) -> None:
    code = 0
    try:
        os.environ.update(request["env"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(log, 1)
        os.dup2(log, 2)
        as_of = datetime.fromisoformat(request["as_of"])
        if request.get("answer_mail"):
            answer_mail(as_of)
        else:
            run_night(as_of, request.get("kill"), request["trace"])
    except BaseException:  # noqa: BLE001 - reported through the exit status and the log
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    serve()
