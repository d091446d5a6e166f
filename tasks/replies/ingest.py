"""Reply ingestion: every unprocessed message of the inbound transport, batch by batch.

For each batch: read the messages (parsing.py; large batches in worker processes while the
previous batch is written, reader.py), look up what they refer to (matching.py),
decide their effects (decisions.py), keep the raw bytes and attachments on disk, write it all
in ONE transaction (effects.py), and only then mark the messages processed in the mailbox. A
crash or a lost server before that mark leaves them to the next run, which recognises them by
their inbound id (a hash of the Message-ID, else of the bytes) and changes nothing twice. An
unusable mailbox stops the run without raising: `IngestResult.transport_error` says why, and
whatever was committed stays committed.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from liandong.clock import naive_utc, resolve_as_of
from liandong.resources import Resources
from tasks.replies.decisions import Decider
from tasks.replies.effects import APPLIED, ATTENTION, IGNORED, Batch, Written, write
from tasks.replies.inbound import Fetched, InboundTransport, InboundUnavailable
from tasks.replies.matching import Matcher, load_known
from tasks.replies.parsing import Reply
from tasks.replies.reader import Prepared, Reader, Reading
from tasks.replies.storage import ready_folder
from warehouse.store import Warehouse

BATCH_SIZE = 1000  # and at most 64 MB (inbound.BATCH_BYTES)


@dataclass
class IngestResult:
    """Counts for the nightly summary and what the coordinator must look at."""

    read: int = 0
    applied: int = 0
    ignored: int = 0
    attention: int = 0
    duplicates: int = 0  # read before (rerun, duplicate delivery): changed nothing
    auto_replies: int = 0
    bounces: int = 0
    asked_again: int = 0  # declines without a reason, answered with a request for one
    claimed: int = 0
    rerouted: int = 0
    needs_meeting: int = 0
    attachments: int = 0
    intents: dict[str, int] = field(default_factory=dict)
    transport_error: str | None = None
    attention_items: list[dict[str, Any]] = field(default_factory=list)  # kind, case_id, from_addr, reason
    problems: list[str] = field(default_factory=list)


def ingest_replies(wh: Warehouse, resources: Resources, transport: InboundTransport, as_of: datetime, run_id: str,
                   *, batch_size: int = BATCH_SIZE, workers: int | None = None) -> IngestResult:
    """`workers`: processes reading large batches (default: one per core; 1 reads here)."""
    result, as_of = IngestResult(), resolve_as_of(as_of)
    settings = resources.settings
    archive = ready_folder(settings.inbound_archive_folder / f"{naive_utc(as_of):%Y-%m}")
    reading = Reading(settings.mail.reply_secret.get_secret_value().encode(), archive)
    try:
        with transport.open() as box, Reader(workers or os.cpu_count() or 1, reading) as reader:
            for fetched, prepared in reader.read_ahead(box.batches(batch_size)):
                _ingest_batch(wh, resources, fetched, prepared, as_of, run_id, result)
                box.mark_processed([f.ref for f in fetched])
    except InboundUnavailable as exc:
        result.transport_error = str(exc)
    return result


def _ingest_batch(wh: Warehouse, resources: Resources, fetched: list[Fetched], prepared: list[Prepared],
                  as_of: datetime, run_id: str, result: IngestResult) -> None:
    settings = resources.settings
    now = naive_utc(as_of)
    known = load_known(wh, prepared)
    batch = Batch(as_of, run_id)
    decider = Decider(batch, known, Matcher(resources.roster, settings.mail.reply_domain, known),
                      resources.roster, settings.attachments_folder)
    fresh = []
    for item, ready in zip(fetched, prepared):
        reply = ready.reply
        if reply.inbound_id in known.recorded:
            result.duplicates += 1
            continue
        known.recorded.add(reply.inbound_id)
        fresh.append(reply)
        row = _inbound_row(item, reply, ready.raw_path, now, run_id)
        batch.inbound.append(row)
        decider.handle(ready, row)
    written = write(wh, batch, resources.roster, resources.calendar, resources.composer)
    result.read += len(fetched)
    _count(result, batch, fresh, written)


def _inbound_row(item: Fetched, reply: Reply, raw_path: str, now: datetime, run_id: str) -> dict[str, Any]:
    return {
        "inbound_id": reply.inbound_id, "message_id": reply.message_id, "transport_ref": item.ref,
        "from_addr": reply.from_addr or None, "subject": reply.subject,
        # The server's arrival time when it has one; never later than the run's as_of.
        "received_at": min(item.arrived_at or now, now),
        "case_id": None, "assignment_id": None, "unit_id": None, "purpose": None, "intent": None,
        "matched_by": None, "note": None, "outcome": IGNORED, "reason": None, "raw_path": raw_path,
        "processed_at": now, "run_id": run_id,
    }


def _count(result: IngestResult, batch: Batch, replies: list[Reply], written: Written) -> None:
    outcomes = Counter(row["outcome"] for row in batch.inbound)
    automatic = Counter(r.automatic.kind for r in replies if r.automatic and not r.unreadable)
    result.applied += outcomes[APPLIED]
    result.ignored += outcomes[IGNORED]
    result.attention += outcomes[ATTENTION]
    result.auto_replies += automatic["auto_reply"]
    result.bounces += automatic["bounce"]
    result.asked_again += written.asked_again
    result.claimed += written.claimed
    result.rerouted += written.rerouted
    result.needs_meeting += written.needs_meeting
    result.attachments += len(batch.attachments)
    result.problems += written.problems
    for row in batch.inbound:
        if row["intent"]:
            result.intents[row["intent"]] = result.intents.get(row["intent"], 0) + 1
    result.attention_items += [{k: item[k] for k in ("kind", "case_id", "from_addr", "reason")}
                               for item in batch.attention]
