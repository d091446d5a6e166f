"""One delivery run: N transport sessions send claimed messages while the database work of the
neighbouring chunks goes on beside them (outbox.py states the guarantees).

    chunk k-1   …send ──→ settle
    chunk k        claim ──→ send ──────────→ settle
    chunk k+1                 (k-1 settled) claim ──→ send …

Every DuckDB call runs on one thread of its own: serialised, and off the event loop, so the
connections keep sending while a chunk is claimed or settled and while its commit waits for
the disk (DuckDB releases the GIL). A chunk is claimed only once the chunk two before it is
settled, so at most two chunks are `sending` at any moment, and the workers always have the
next chunk queued when they finish one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from tasks.mail import tables
from tasks.mail.retry import Attempt, transition
from tasks.mail.tables import FAILED_TEMPORARY, SENDING, SENT
from tasks.mail.transport import (
    CONNECTION_LOST,
    Envelope,
    MailSession,
    MailTransport,
    Outcome,
    Refusal,
    TransportUnavailable,
)
from warehouse.store import Warehouse

WINDOW = 2000  # due messages read, bytes included, per query
_T = TypeVar("_T")


@dataclass
class DeliveryReport:
    due: int = 0
    sent: int = 0
    failed_temporary: int = 0
    failed_permanent: int = 0
    resumed: int = 0  # left `sending` by an interrupted run, so sent again (may arrive twice)
    transport_error: str | None = None
    problems: list[str] = field(default_factory=list)  # for the run summary; never credentials


@dataclass
class _Pending:
    attempt: Attempt
    outcome: asyncio.Future[Outcome]


@dataclass
class Delivery:
    warehouse: Warehouse
    executor: ThreadPoolExecutor
    as_of: datetime
    chunk_size: int
    sessions: list[MailSession]  # the usable ones
    report: DeliveryReport = field(default_factory=DeliveryReport)

    async def db(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def deliver_due(self, limit: int | None) -> None:
        """Everything due, window by window; each window is settled before the next is read,
        so a row this run left `sending` is never read back as due."""
        done = 0
        while limit is None or done < limit:
            rows = await self.db(tables.load_due, self.warehouse, self.as_of,
                                 WINDOW if limit is None else min(WINDOW, limit - done))
            if not rows:
                return
            done += len(rows)
            self.report.resumed += sum(row[1] == SENDING for row in rows)
            await self.deliver(_chunks([_attempt(*row, as_of=self.as_of) for row in rows], self.chunk_size))

    async def deliver(self, chunks: AsyncIterable[list[Attempt]]) -> None:
        queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        workers = list(self.sessions) or [None]
        async with asyncio.TaskGroup() as tasks:
            for session in workers:
                tasks.create_task(self._work(session, queue))
            settling: list[asyncio.Task[None]] = []
            async for chunk in chunks:
                if len(settling) >= 2:
                    await settling[-2]
                self.report.due += len(chunk)
                await self.db(tables.claim, self.warehouse, [a.message_id for a in chunk], self.as_of)
                pending = [_Pending(a, asyncio.get_running_loop().create_future()) for a in chunk]
                for item in pending:
                    queue.put_nowait(item)
                settling.append(tasks.create_task(self._settle(pending)))
            for _ in workers:
                queue.put_nowait(None)

    async def _work(self, session: MailSession | None, queue: asyncio.Queue[_Pending | None]) -> None:
        while (item := await queue.get()) is not None:
            envelope = item.attempt.envelope
            if session is None:
                item.outcome.set_result(_not_sent(envelope, self.report.transport_error))
                continue
            try:
                item.outcome.set_result(await session.send(envelope))
            except TransportUnavailable as exc:
                item.outcome.set_result(_not_sent(envelope, str(exc)))
                self.report.transport_error = str(exc)
                self.sessions.remove(session)
                if self.sessions:
                    return  # the other connections carry on
                session = None  # the last worker stays, to settle what is left as not sent

    async def _settle(self, pending: list[_Pending]) -> None:
        rows, attention = [], []
        for item in pending:
            row, problems = transition(item.attempt, await item.outcome, self.as_of)
            rows.append(row)
            attention += problems
            self._tally(row["state"], problems)
        await self.db(tables.record_outcomes, self.warehouse, rows, attention, self.as_of)

    def _tally(self, state: str, problems: list[tables.Attention]) -> None:
        if state == SENT:
            self.report.sent += 1
        elif state == FAILED_TEMPORARY:
            self.report.failed_temporary += 1
        else:
            self.report.failed_permanent += 1
        self.report.problems += [reason for *_, reason in problems]


@asynccontextmanager
async def delivery(warehouse: Warehouse, transport: MailTransport, as_of: datetime,
                   chunk_size: int) -> AsyncIterator[Delivery]:
    with ThreadPoolExecutor(1, thread_name_prefix="outbox-db") as executor:
        async with AsyncExitStack() as stack:
            sessions = [await stack.enter_async_context(transport.session())
                        for _ in range(max(1, transport.connections))]
            yield Delivery(warehouse, executor, as_of, chunk_size, sessions)


def _attempt(message_id: str, state: str, case_id: str | None, mail_from: str, to_addrs: str,
             cc_addrs: str | None, retry_rcpts: str | None, raw: bytes, attempts: int,
             first_attempt_at: datetime | None, *, as_of: datetime) -> Attempt:
    recipients = _split(retry_rcpts) if retry_rcpts else _split(to_addrs) + _split(cc_addrs)
    return Attempt(message_id, case_id, Envelope(message_id, mail_from, tuple(recipients), raw),
                   attempts + 1, first_attempt_at or as_of, retry_rcpts)


async def _chunks(attempts: Sequence[Attempt], size: int) -> AsyncIterator[list[Attempt]]:
    for start in range(0, len(attempts), size):
        yield list(attempts[start:start + size])


def _not_sent(envelope: Envelope, why: str | None) -> Outcome:
    return Outcome(envelope.message_id, failure=Refusal.of(CONNECTION_LOST, why or "transport unavailable"))


def _split(addresses: str | None) -> list[str]:
    return [a.strip() for a in (addresses or "").split(",") if a.strip()]
