"""The effects of one batch of replies, collected in memory and written in ONE transaction:
inbound rows, case events, assignment / case / look-back changes, bounced messages, attention
items, attachment metadata, the claims, the ask-again emails and the re-routing of declined
cases. Rows go in through Arrow and changes as one set-based UPDATE each, so a batch of
hundreds of replies costs a handful of statements.

Stages with a transaction of their own (`claim_case`, `reroute`, `queue_drafts`) are handed
the warehouse wrapped in `_InTransaction`, whose `transaction()` joins the batch's instead of
opening one (DuckDB has no nested transactions): all of a reply's effects commit together, or none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from liandong.clock import naive_utc
from liandong.roster import Roster
from liandong.workdays import WorkCalendar
from tasks.mail.compose import Composer, Draft
from tasks.mail.outbox import queue_drafts
from tasks.routing.assign import claim_case, reroute
from tasks.routing.notices import assignment_notices
from warehouse.store import Warehouse, load_query

APPLIED, IGNORED, ATTENTION = "applied", "ignored", "attention"

_ASSIGNMENT_CHANGES = pa.schema([
    ("assignment_id", pa.string()), ("state", pa.string()), ("responded_at", pa.timestamp("us")),
    ("decline_reason", pa.string()), ("done_at", pa.timestamp("us")),
])
_MOVES = pa.schema([("case_id", pa.string()), ("status", pa.string()), ("lead_unit_id", pa.string()),
                    ("due_at", pa.timestamp("us"))])
_LOOKBACK_ANSWERS = pa.schema([
    ("lookback_id", pa.string()), ("fixed", pa.bool_()), ("satisfaction", pa.string()),
    ("answered_at", pa.timestamp("us")), ("answer_note", pa.string()), ("answer_inbound_id", pa.string()),
])
_BOUNCED = pa.schema([("message_id", pa.string()), ("last_error", pa.string())])
_ATTENTION = pa.schema([("kind", pa.string()), ("case_id", pa.string()), ("ref", pa.string()),
                        ("reason", pa.string())])


@dataclass
class Claim:
    row: dict[str, Any]  # the reply's inbound row, whose outcome the claims decide
    case_ids: list[str]
    unit_id: str


@dataclass
class Written:
    claimed: int = 0
    rerouted: int = 0
    needs_meeting: int = 0
    asked_again: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class Batch:
    as_of: datetime  # aware: routing and the calendar want it so
    run_id: str
    inbound: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    assignments: dict[str, dict[str, Any]] = field(default_factory=dict)
    moves: dict[str, str] = field(default_factory=dict)
    new_lookbacks: list[dict[str, Any]] = field(default_factory=list)
    lookback_answers: list[dict[str, Any]] = field(default_factory=list)
    bounced: dict[str, str] = field(default_factory=dict)
    attention: list[dict[str, Any]] = field(default_factory=list)  # kind, case_id, ref, reason, from_addr
    attachments: list[dict[str, Any]] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    reroute: bool = False

    @property
    def now(self) -> datetime:
        """The warehouse's naive UTC."""
        return naive_utc(self.as_of)

    def event(self, row: dict[str, Any], kind: str, reason: str, *, actor: str, from_status: str | None = None,
              to_status: str | None = None, detail: Any = None) -> None:
        """A case event about the reply's case and assignment, at the reply's time."""
        self.events.append({
            "case_id": row["case_id"], "occurred_at": row["received_at"], "actor": actor, "kind": kind,
            "from_status": from_status, "to_status": to_status, "assignment_id": row["assignment_id"],
            "unit_id": row["unit_id"], "reason": reason, "detail": json.dumps(detail, ensure_ascii=False) if detail is not None else None,
            "inbound_id": row["inbound_id"], "run_id": self.run_id,
        })

    def raise_attention(self, row: dict[str, Any], kind: str, reason: str, ref: str | None = None) -> None:
        self.attention.append({"kind": kind, "case_id": row["case_id"], "ref": ref or row["inbound_id"],
                               "reason": reason, "from_addr": row["from_addr"]})

    def outcome(self, row: dict[str, Any], outcome: str, reason: str | None = None) -> None:
        row["outcome"], row["reason"] = outcome, reason


class _InTransaction:
    """The warehouse while a batch's transaction is open: a stage called from inside it joins it.
    Everything but `transaction()` goes to the warehouse itself, whatever its backend."""

    def __init__(self, wh: Warehouse):
        self._wh = wh

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wh, name)

    @contextmanager
    def transaction(self) -> Iterator[_InTransaction]:
        yield self


def write(wh: Warehouse, batch: Batch, roster: Roster, calendar: WorkCalendar, composer: Composer) -> Written:
    written = Written()
    with wh.transaction():
        joined = _InTransaction(wh)
        _claims(joined, batch, roster, calendar, written)
        wh.append("inbound_messages", batch.inbound)
        wh.append("case_events", batch.events)
        wh.append("lookbacks", batch.new_lookbacks)
        wh.append("inbound_attachments", batch.attachments)
        _update(wh, "assignments_apply_replies", "_reply_assignments", _ASSIGNMENT_CHANGES,
                [{"assignment_id": k, **v} for k, v in batch.assignments.items()], batch.now)
        _update(wh, "cases_apply_moves", "_moves", _MOVES,
                [{"case_id": k, "status": v, "lead_unit_id": None, "due_at": None} for k, v in batch.moves.items()],
                batch.now)
        _update(wh, "lookbacks_record_answers", "_reply_lookbacks", _LOOKBACK_ANSWERS, batch.lookback_answers,
                batch.now)
        _update(wh, "messages_mark_bounced", "_reply_bounced", _BOUNCED,
                [{"message_id": k, "last_error": v} for k, v in batch.bounced.items()], batch.now)
        _update(wh, "attention_raise_from_replies", "_reply_attention", _ATTENTION, batch.attention, batch.now)
        written.asked_again = queue_drafts(joined, composer, batch.drafts, batch.now).queued if batch.drafts else 0
        if batch.reroute:
            _reroute(joined, roster, calendar, composer, batch, written)
    return written


def _update(wh: Warehouse, query: str, name: str, schema: pa.Schema, rows: list[dict[str, Any]],
            now: datetime) -> None:
    if not rows:
        return
    wh.con.register(name, pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema))
    try:
        wh.execute(load_query(query), {"now": now})
    finally:
        wh.con.unregister(name)


def _claims(wh: Warehouse, batch: Batch, roster: Roster, calendar: WorkCalendar, written: Written) -> None:
    """A claim is a first-come race decided in the warehouse: `claim_case` per claimed case."""
    for claim in batch.claims:
        outcomes = {case_id: claim_case(wh, roster, calendar, case_id, claim.unit_id, batch.as_of, batch.run_id)
                    for case_id in claim.case_ids}
        claimed = [case_id for case_id, outcome in outcomes.items() if outcome == "claimed"]
        for case_id in claimed:
            # claim_case's event says what happened; this says who asked for it, and in which reply.
            wh.execute("UPDATE case_events SET actor = ?, inbound_id = ? WHERE case_id = ? AND kind = 'claimed' "
                       "AND unit_id = ? AND inbound_id IS NULL",
                       [f"unit:{claim.unit_id}", claim.row["inbound_id"], case_id, claim.unit_id])
        written.claimed += len(claimed)
        _claim_outcome(batch, claim, outcomes, claimed)


def _claim_outcome(batch: Batch, claim: Claim, outcomes: dict[str, str], claimed: list[str]) -> None:
    row = claim.row
    row["case_id"] = row["case_id"] or next(iter(claimed or outcomes), None)
    summary = ", ".join(f"{case_id}: {outcome}" for case_id, outcome in outcomes.items())
    refused = {case_id: outcome for case_id, outcome in outcomes.items() if outcome not in ("claimed", "already_taken")}
    if refused:
        batch.outcome(row, ATTENTION, summary)
        batch.raise_attention(row, "reply_claim_refused", f"认领未成功 / claim not possible: {summary}")
    elif claimed:
        batch.outcome(row, APPLIED, summary)
    else:
        batch.outcome(row, IGNORED, f"已被其他单位认领 / already claimed by another unit: {summary}")


def _reroute(wh: Warehouse, roster: Roster, calendar: WorkCalendar, composer: Composer, batch: Batch,
             written: Written) -> None:
    """Declined lead assignments: the next candidate (notified at once) or the joint meeting."""
    result = reroute(wh, roster, calendar, batch.as_of, batch.run_id)
    written.rerouted, written.needs_meeting = result.rerouted, result.needs_meeting
    written.problems += result.problems
    if result.rerouted:
        queue_drafts(wh, composer, assignment_notices(wh, roster), batch.now)
