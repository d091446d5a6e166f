"""One writer at a time on the warehouse (DuckDB allows one writing process per file).

Inside Prefect runs, writers take a slot of the global concurrency limit `warehouse-writer`
(limit 1), so two flow runs that overlap queue for the warehouse visibly in the UI instead of
colliding on the file lock. The limit is created on first use. Outside Prefect (scripts,
benchmarks), the store's own lock retry is the only guard needed.

A flow that writes takes the slot once for its whole run (`with warehouse_writer():` around its
body), and everything it calls — stages, tasks — finds it held, instead of taking it per task.
Not a flow that pauses for a person (the decisions form): every other run would wait meanwhile.
Per task, each acquisition on the SQLite-backed server met a 503 (the database busy recording the
task run's own start) and a 2 s client back-off: 40 s of a 45 s demo night went to waiting.

A holder killed without letting go (SIGKILL, out of memory) would keep everyone waiting: the
Prefect server frees a lapsed lease only where its repossessor runs, never on the ephemeral
server of `make demo` or the tests. So the holder leaves its lease id and process id beside
Prefect's data, and a writer that has waited looks: a holder on this machine that is gone has
its slot freed (tests/test_concurrent_runs.py kills one).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from uuid import UUID

WRITER_LIMIT = "warehouse-writer"
LEASE_SECONDS = 60
CHECK_HOLDER_SECONDS = 10  # while waiting, how often to look whether the holder still lives
_ensured: set[str] = set()
# Set while this run (and the subflows and tasks it calls, which inherit the context) holds the slot.
_held: ContextVar[bool] = ContextVar("warehouse_writer_held", default=False)


def _in_prefect_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def ensure_limit(name: str = WRITER_LIMIT) -> None:
    """A global concurrency limit of 1 with this name, created if missing (once per API and name)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    key = f"{PREFECT_API_URL.value()} {name}"
    if key in _ensured:
        return
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            except ObjectAlreadyExists:
                pass
    _ensured.add(key)


@contextmanager
def warehouse_writer() -> Iterator[None]:
    """The writer slot, taken unless this run holds it already (re-entrant, never self-blocking)."""
    if _held.get() or not _in_prefect_run():
        yield
        return
    # Prefect 3.8.8's own lease helpers (pinned): the public `concurrency()` hides the lease id,
    # which a later writer needs to free the slot of a holder that was killed.
    from prefect.concurrency._leases import maintain_concurrency_lease
    from prefect.concurrency._sync import release_concurrency_slots_with_lease

    ensure_limit()
    lease_id = _take_slot()
    _holder_file().write_text(json.dumps({"lease_id": str(lease_id), "pid": os.getpid(), "host": socket.gethostname(),
                                          "since": time.time()}))
    token = _held.set(True)
    try:
        # Renewed while the run goes on; a killed holder's lease lapses within LEASE_SECONDS.
        with maintain_concurrency_lease(lease_id, LEASE_SECONDS, raise_on_lease_renewal_failure=False):
            yield
    finally:
        _held.reset(token)
        release_concurrency_slots_with_lease(lease_id)


def _take_slot() -> UUID:
    """Waits for the slot as long as its holder lives; frees it when the holder on this machine
    died without letting go (SIGKILL, out of memory). A holder on another machine is freed by
    the Prefect server when its lease lapses."""
    from prefect.concurrency._asyncio import AcquireConcurrencySlotTimeoutError
    from prefect.concurrency._sync import acquire_concurrency_slots_with_lease

    while True:
        try:
            return acquire_concurrency_slots_with_lease([WRITER_LIMIT], 1, timeout_seconds=CHECK_HOLDER_SECONDS,
                                                        lease_duration=LEASE_SECONDS, strict=True).lease_id
        except AcquireConcurrencySlotTimeoutError:
            _free_if_holder_died()


def _free_if_holder_died() -> None:
    from prefect.client.orchestration import get_client
    from prefect.logging import get_logger

    logger = get_logger("liandong.locking")
    try:
        holder = json.loads(_holder_file().read_text())
    except (OSError, ValueError):
        return
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder["since"]))
    if holder["host"] != socket.gethostname() or _alive(holder["pid"]):
        logger.info("等待数据仓库写入权（进程 %s@%s 自 %s 起持有） / waiting for the warehouse, held by process "
                    "%s@%s since %s", holder["pid"], holder["host"], since, holder["pid"], holder["host"], since)
        return
    with get_client(sync_client=True) as client:  # idempotent: a lease already gone frees nothing
        client.release_concurrency_slots_with_lease(UUID(holder["lease_id"]))
    logger.warning("持有数据仓库写入权的进程 %s 已终止，已释放其写入权 / the process %s that held the warehouse "
                   "(since %s) is gone: its slot was freed", holder["pid"], holder["pid"], since)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder_file() -> Path:
    """Who holds the slot, for the writers that wait: beside the Prefect server's data, one per API."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME

    api = hashlib.sha256(str(PREFECT_API_URL.value()).encode()).hexdigest()[:12]
    return Path(PREFECT_HOME.value()) / f"liandong-warehouse-writer-{api}.json"
