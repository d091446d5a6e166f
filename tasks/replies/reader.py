"""Preparing batches of messages on every core while the warehouse work of the previous batch
goes on. Preparing is everything that needs no warehouse: parsing (parsing.read_reply, half
the time of an ingestion, pure Python), keeping the raw bytes, verifying reply tokens, and
reading the intent in the vocabulary of the token's purpose. The warehouse allows one writer,
so matching, deciding and writing stay in this process.

    with Reader(workers, Reading(secret, archive)) as reader:
        for fetched, prepared in reader.read_ahead(box.batches(1000)):
            ...  # batch k is written while batch k+1 is prepared

A batch smaller than PARALLEL_MIN (the every-few-minutes run) is prepared here, at once:
starting worker processes would cost more than it saves. Workers are forked: they inherit the
loaded modules (a fresh interpreter would import Prefect, ~4 s) and only run `prepare`, which
uses no lock, logger or connection of the parent (it writes raw files of its own). A worker
that dies fails the run (BrokenProcessPool): nothing of that batch was committed, so the next
run reads it again. When the transport fails while a batch is read ahead, the batches already
fetched are still handed out, then the failure is raised.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from tasks.mail.tokens import ReplyClaims, read_reply_token
from tasks.replies.inbound import Fetched, InboundUnavailable
from tasks.replies.parsing import Reply, read_reply
from tasks.replies.reading import Intent, read_intent
from tasks.replies.storage import keep_raw

PARALLEL_MIN = 200
_CHUNK = 50  # messages per round trip to a worker
# The vocabulary of read_intent for each purpose a token or an outbound message carries.
_VOCABULARIES = {"assignment": "assignment", "reminder": "reminder", "overdue": "overdue",
                 "claim_list": "claim_list", "lookback": "lookback", "meeting": "meeting",
                 "followup": "reminder", "notice": "assignment"}


def vocabulary(purpose: str) -> str:
    return _VOCABULARIES.get(purpose, "assignment")


@dataclass(frozen=True)
class Reading:
    """What preparing a message needs besides its bytes."""

    secret: bytes
    archive: str  # the folder (existing) for this run's raw messages


@dataclass(frozen=True)
class Prepared:
    reply: Reply
    raw_path: str
    tokens: dict[str, ReplyClaims | None]  # each reply+… recipient → its verified claims (None: forged)
    intent: Intent | None = None  # read in `vocabulary`, the one of the first verified token's purpose
    vocabulary: str | None = None


def prepare(raw: bytes, size: int | None, reading: Reading) -> Prepared:
    reply = read_reply(raw, size)
    raw_path = keep_raw(reading.archive, reply.inbound_id, raw)
    tokens = {a: read_reply_token(reading.secret, a) for a in reply.recipients if a.startswith("reply+")}
    claims = next((c for c in tokens.values() if c is not None), None)
    if claims is None or reply.automatic or reply.unreadable:
        return Prepared(reply, raw_path, tokens)
    words = vocabulary(claims.purpose)
    return Prepared(reply, raw_path, tokens, read_intent(reply.text, words), words)


class Reader:
    def __init__(self, workers: int, reading: Reading):
        self.workers = workers
        self.reading = reading
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def read_ahead(self, batches: Iterable[list[Fetched]]) -> Iterator[tuple[list[Fetched], list[Prepared]]]:
        pending: tuple[list[Fetched], Callable[[], list[Prepared]]] | None = None
        try:
            for fetched in batches:
                started = (fetched, self._start(fetched))
                if pending is not None:
                    yield pending[0], pending[1]()
                pending = started
        except InboundUnavailable:
            if pending is not None:
                yield pending[0], pending[1]()
            raise
        if pending is not None:
            yield pending[0], pending[1]()

    def _start(self, fetched: list[Fetched]) -> Callable[[], list[Prepared]]:
        if self.workers < 2 or len(fetched) < PARALLEL_MIN:
            prepared = self._here(fetched)
            return lambda: prepared
        results = self._executor().map(prepare, [f.raw for f in fetched], [f.size for f in fetched],
                                       itertools.repeat(self.reading), chunksize=_CHUNK)
        return lambda: list(results)

    def _here(self, fetched: list[Fetched]) -> list[Prepared]:
        return [prepare(f.raw, f.size, self.reading) for f in fetched]

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # gc.freeze: the collector of a worker leaves the objects inherited from this process
            # alone (walking them costs time and copies every page they sit on).
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=gc.freeze)
        return self._pool
