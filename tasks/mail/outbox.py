"""The outbox: every message is rendered and recorded before any SMTP call, then delivered in
chunks that survive a crash at any point. Three entry points, all batch-sized (one call, any
number of messages):

- `queue_drafts` composes drafts and inserts them as `queued`, due at once. The idempotency
  key is UNIQUE and looked up first, so queueing a key twice adds nothing and is not rendered.
  Past one batch, worker processes compose the next batch while this one is inserted.
- `deliver_due` sends what is due (`sending` left by an interrupted run first, then `queued`
  and `failed_temporary` whose time has come), oldest first.
- `send_drafts` does both in one go, composing the next chunk while the previous one is on the
  wire, then delivers anything else due. Render time hides behind network time.

States of a `messages` row (retry.py has the rules):

    queued ──claim──→ sending ──→ sent
                         │  └───→ failed_permanent                 (5xx, or failing for 3 days)
                         └──────→ failed_temporary ──due──→ sending …   (4xx, timeout, lost link)

A run works in chunks of `chunk_size` (delivery.py): claim (one transaction marks the chunk
`sending`, counting the attempt), send (N transport sessions pull from one queue), settle (one
transaction writes every outcome of the chunk — a single UPDATE when all went well — and the
attention items).

Crash safety follows from the order of commits:
- a message is committed `queued` before it can be claimed, and claimed before its first byte
  goes out, so a crash never loses one;
- a crash leaves exactly the possibly-sent-but-unrecorded messages `sending`, and at most two
  chunks are ever `sending` at once, so at most 2 × chunk_size messages can arrive twice;
- the next run takes `sending` rows first, whatever the time, and sends them with the same
  Message-ID (recipients' clients can tell the copies apart); `DeliveryReport.resumed` counts
  them. `sent` rows are never due again, so nothing else is ever sent twice.
One deliverer at a time: the warehouse has one writer, and flows hold a concurrency limit.

If the transport cannot be used at all (server down, bad login), no call raises: every due
message gets a temporary failure with its back-off, and `transport_error` says why.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import jinja2

from liandong.clock import naive_utc
from tasks.mail import tables
from tasks.mail.compose import Composed, Composer, Draft
from tasks.mail.delivery import Delivery, DeliveryReport, delivery
from tasks.mail.retry import Attempt
from tasks.mail.transport import Envelope, MailTransport
from warehouse.store import Warehouse

CHUNK_SIZE = 100
QUEUE_BATCH = 500
# Drafts composed between two turns of the event loop in send_drafts. SMTP is chatty (four
# round trips a message): the sooner the loop answers the server, the less the server idles;
# one draft (~0.4 ms) at a time measured best.
COMPOSE_SLICE = 1
WORKERS = min(os.cpu_count() or 1, 4)  # composing processes, past the first batch of a queue_drafts call


@dataclass
class QueueReport:
    queued: int = 0
    already_queued: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (idempotency key, why)


def queue_drafts(warehouse: Warehouse, composer: Composer, drafts: Iterable[Draft], as_of: datetime) -> QueueReport:
    """Compose and record drafts as `queued`. A draft that cannot be composed is not queued; it
    is reported and put on the coordinator's attention list (once while unresolved)."""
    as_of = naive_utc(as_of)
    report = QueueReport()
    with _Composing(composer, as_of) as composing:
        waiting: list[Future] = []  # the batch being composed while the one before is inserted
        for batch in _batches(_first_per_key(drafts, report), QUEUE_BATCH):
            ready, waiting = waiting, composing.submit(_not_queued(warehouse, batch, report))
            _insert(warehouse, report, ready, as_of)
        _insert(warehouse, report, waiting, as_of)
    return report


def _insert(warehouse: Warehouse, report: QueueReport, parts: list[Future], as_of: datetime) -> None:
    """Records a batch composed in parts, in draft order."""
    if not parts:
        return
    composed, problems = [], []
    for part in parts:
        more, failed = part.result()
        composed += more
        problems += failed
    tables.insert_queued(warehouse, composed, problems, as_of)
    _count(report, composed, problems)


class _Composing:
    """Composes batches: the first here, the later ones in worker processes forked from this one
    (they inherit the composer and its compiled templates). Rendering ~53,000 messages of a
    district night is ~45 s of CPU, which the second core shares once there is more than a batch;
    the bytes are the same either way (tests/test_mail_outbox.py)."""

    def __init__(self, composer: Composer, as_of: datetime):
        self.composer, self.as_of = composer, as_of
        self.pool: ProcessPoolExecutor | None = None
        self.batches = 0

    def __enter__(self) -> _Composing:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def submit(self, drafts: list[Draft]) -> list[Future]:
        """The batch in parts, one per worker."""
        self.batches += 1
        if not drafts:
            return []
        if self.batches == 1:  # most calls have one batch: no processes for them
            done: Future = Future()
            done.set_result(_compose(self.composer, drafts, self.as_of))
            return [done]
        if self.pool is None:
            global _worker_composer
            _worker_composer = self.composer  # inherited by the forked workers
            self.pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("fork"),
                                            initializer=gc.freeze)
        size = -(-len(drafts) // WORKERS)
        return [self.pool.submit(_compose_in_worker, drafts[i:i + size], self.as_of)
                for i in range(0, len(drafts), size)]


_worker_composer: Composer | None = None


def _compose_in_worker(drafts: list[Draft], as_of: datetime) -> tuple[list[Composed], list[tables.Attention]]:
    assert _worker_composer is not None
    return _compose(_worker_composer, drafts, as_of)


def deliver_due(warehouse: Warehouse, transport: MailTransport, as_of: datetime, limit: int | None = None,
                *, chunk_size: int = CHUNK_SIZE) -> DeliveryReport:
    """Send what is due, at most `limit` messages. Not for use inside a running event loop:
    await `deliver_due_async` there."""
    return asyncio.run(deliver_due_async(warehouse, transport, as_of, limit, chunk_size=chunk_size))


async def deliver_due_async(warehouse: Warehouse, transport: MailTransport, as_of: datetime,
                            limit: int | None = None, *, chunk_size: int = CHUNK_SIZE) -> DeliveryReport:
    async with delivery(warehouse, transport, naive_utc(as_of), chunk_size) as run:
        await run.deliver_due(limit)
    return run.report


def send_drafts(warehouse: Warehouse, composer: Composer, transport: MailTransport, drafts: Iterable[Draft],
                as_of: datetime, *, chunk_size: int = CHUNK_SIZE) -> tuple[QueueReport, DeliveryReport]:
    """Queue the drafts and deliver them together with anything else due. Not for use inside a
    running event loop: await `send_drafts_async` there."""
    return asyncio.run(send_drafts_async(warehouse, composer, transport, drafts, as_of, chunk_size=chunk_size))


async def send_drafts_async(warehouse: Warehouse, composer: Composer, transport: MailTransport,
                            drafts: Iterable[Draft], as_of: datetime, *,
                            chunk_size: int = CHUNK_SIZE) -> tuple[QueueReport, DeliveryReport]:
    queued = QueueReport()
    async with delivery(warehouse, transport, naive_utc(as_of), chunk_size) as run:
        await run.deliver(_queued_chunks(run, composer, drafts, queued))
        await run.deliver_due(None)
    return queued, run.report


async def _queued_chunks(run: Delivery, composer: Composer, drafts: Iterable[Draft],
                         report: QueueReport) -> AsyncIterator[list[Attempt]]:
    """Drafts composed and committed `queued` chunk by chunk, as attempts ready to be claimed."""
    for batch in _batches(_first_per_key(drafts, report), run.chunk_size):
        fresh = await run.db(_not_queued, run.warehouse, batch, report)
        composed, problems = [], []
        for start in range(0, len(fresh), COMPOSE_SLICE):
            more, failed = _compose(composer, fresh[start:start + COMPOSE_SLICE], run.as_of)
            composed += more
            problems += failed
            await asyncio.sleep(0)  # let the connections read their answers between slices
        await run.db(tables.insert_queued, run.warehouse, composed, problems, run.as_of)
        _count(report, composed, problems)
        if composed:
            yield [_first_attempt(c, run.as_of) for c in composed]


def _not_queued(warehouse: Warehouse, drafts: list[Draft], report: QueueReport) -> list[Draft]:
    existing = tables.existing_keys(warehouse, [d.idempotency_key for d in drafts])
    report.already_queued += len(existing)
    return [d for d in drafts if d.idempotency_key not in existing]


def _compose(composer: Composer, drafts: Sequence[Draft],
             as_of: datetime) -> tuple[list[Composed], list[tables.Attention]]:
    composed, problems = [], []
    for draft in drafts:
        try:
            composed.append(composer.compose(draft, as_of))
        except (ValueError, jinja2.TemplateError) as exc:
            problems.append(("mail_compose_failed", draft.case_id, draft.idempotency_key,
                             f"邮件无法生成 / message could not be composed: {type(exc).__name__}: {exc}"))
    return composed, problems


def _count(report: QueueReport, composed: list[Composed], problems: list[tables.Attention]) -> None:
    report.queued += len(composed)
    report.rejected += [(ref, reason) for _, _, ref, reason in problems]


def _first_attempt(composed: Composed, as_of: datetime) -> Attempt:
    envelope = Envelope(composed.message_id, composed.mail_from, composed.to_addrs + composed.cc_addrs, composed.raw)
    return Attempt(composed.message_id, composed.case_id, envelope, attempts=1, first_attempt_at=as_of,
                   retry_rcpts=None)


def _first_per_key(drafts: Iterable[Draft], report: QueueReport) -> Iterator[Draft]:
    seen: set[str] = set()
    for draft in drafts:
        if draft.idempotency_key in seen:
            report.already_queued += 1
        else:
            seen.add(draft.idempotency_key)
            yield draft


def _batches(drafts: Iterator[Draft], size: int) -> Iterator[list[Draft]]:
    batch: list[Draft] = []
    for draft in drafts:
        batch.append(draft)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
