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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

WRITER_LIMIT = "warehouse-writer"
_ensured: set[str] = set()
# Set while this run (and the subflows and tasks it calls, which inherit the context) holds the slot.
_held: ContextVar[bool] = ContextVar("warehouse_writer_held", default=False)


def _in_prefect_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _ensure_limit() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    api = str(PREFECT_API_URL.value())
    if api in _ensured:
        return
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(WRITER_LIMIT)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=WRITER_LIMIT, limit=1))
            except ObjectAlreadyExists:
                pass
    _ensured.add(api)


@contextmanager
def warehouse_writer() -> Iterator[None]:
    """The writer slot, taken unless this run holds it already (re-entrant, never self-blocking)."""
    if _held.get() or not _in_prefect_run():
        yield
        return
    from prefect.concurrency.sync import concurrency

    _ensure_limit()
    # A long nightly run holds the slot for minutes; the lease is renewed while it runs.
    with concurrency(WRITER_LIMIT, occupy=1, strict=True):
        token = _held.set(True)
        try:
            yield
        finally:
            _held.reset(token)


