"""Look-back (回头看): some time after a case is resolved, ask the person who can see the site
whether the fix held and how satisfied residents are, then act on the answer.

The replies flow schedules a look-back (a `lookbacks` row, state `scheduled`, due
`policy.lookback_calendar_days` after the resolution) and records its answer (`answered`,
`fixed`, `satisfaction`). This stage does the rest:

    scheduled ─due, working day→ asked ─K working days→ reminded ─K' working days→ no_response
                                   └──────────── answered (replies flow) ───────────┘
    answered, fixed      → case verified, then closed
    answered, not fixed  → case reopened: a new lead assignment for the same lead unit, already
                           accepted, with a new deadline; the lead unit is told

`no_response` leaves the case `resolved`, puts it on the coordinator's attention list and is
counted on its own, never as satisfied. Questions and reminders go out on working days only.
The lead unit keeps a reopened case rather than being re-routed: it knows the site and the
first fix, and the look-back judged its work, not its remit.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from liandong.clock import local, naive_utc
from liandong.roster import Policy, Roster
from liandong.workdays import CalendarYearNotCovered, WorkCalendar
from tasks.chase.gaps import CalendarGaps
from tasks.lookback.notices import checker, question_draft, reopened_drafts
from tasks.mail.compose import Composer, Draft
from tasks.mail.outbox import QueueReport, queue_drafts
from tasks.routing.assign import handling_days
from warehouse.store import Warehouse, load_query

ASKED, REMINDED, NO_RESPONSE = "asked", "reminded", "no_response"


@dataclass
class AnswersResult:
    verified: int = 0  # verified, then closed
    reopened: int = 0
    queued: QueueReport = field(default_factory=QueueReport)
    problems: list[str] = field(default_factory=list)


@dataclass
class QuestionsResult:
    working_day: bool = True  # False: a weekend or holiday, nothing was asked
    asked: int = 0
    reminded: int = 0
    no_response: int = 0
    queued: QueueReport = field(default_factory=QueueReport)
    problems: list[str] = field(default_factory=list)


def apply_answers(wh: Warehouse, roster: Roster, calendar: WorkCalendar, composer: Composer, as_of: datetime,
                  run_id: str) -> AnswersResult:
    result, outcomes = AnswersResult(), _Outcomes(naive_utc(as_of), run_id)
    gaps = CalendarGaps()
    for row in wh.query("lookbacks_answered"):
        if row["fixed"]:
            outcomes.verify(row)
        elif row["lead_unit_id"] is None:
            result.problems.append(f"{row['case_id']}: 回头看未解决，但没有牵头单位可重办 / not fixed at look-back,"
                                   f" but no lead unit to reopen it for")
        else:
            try:
                days = handling_days(roster.policy, row["category"], row["urgency"])
                outcomes.reopen(row, naive_utc(calendar.deadline(as_of, days)))
            except CalendarYearNotCovered as exc:
                gaps.add(row["case_id"], exc)
    outcomes.write(wh)
    result.verified, result.reopened = outcomes.count("closed"), outcomes.count("reopened")
    result.problems += gaps.lines("重办期限", "new deadlines after the look-back")
    result.queued = queue_drafts(wh, composer, reopened_drafts(roster, wh.query("reopened_without_notice")), as_of)
    return result


def ask_and_remind(wh: Warehouse, roster: Roster, calendar: WorkCalendar, composer: Composer, as_of: datetime,
                   run_id: str) -> QuestionsResult:
    result = QuestionsResult()
    today, now = local(as_of).date(), naive_utc(as_of)
    try:
        result.working_day = calendar.is_workday(today)
    except CalendarYearNotCovered as exc:
        result.working_day = False
        result.problems.append(f"今天的回头看全部暂停：{exc.zh} / No look-back can be asked today: {exc.en}")
    if not result.working_day:
        return result
    gaps = CalendarGaps()
    moves: list[tuple[dict[str, Any], Draft | None]] = []
    for row in wh.query("lookbacks_open", {"now": now}):
        try:
            step = _next_step(calendar, roster.policy, today, row)
        except CalendarYearNotCovered as exc:
            gaps.add(row["case_id"], exc)
            continue
        move = _move(roster, row, step, now, result.problems) if step else None
        if move is not None:
            moves.append(move)
    result.problems += gaps.lines("回头看时间", "look-back days")
    result.queued = queue_drafts(wh, composer, [d for _, d in moves if d is not None], as_of)
    rejected = {key for key, _ in result.queued.rejected}
    done = [m for m, d in moves if d is None or d.idempotency_key not in rejected]
    _write_moves(wh, done, now, run_id)
    states = Counter(m["state"] for m in done)
    result.asked, result.reminded, result.no_response = states[ASKED], states[REMINDED], states[NO_RESPONSE]
    return result


def _next_step(calendar: WorkCalendar, policy: Policy, today: date, row: dict[str, Any]) -> str | None:
    if row["state"] == "scheduled":
        return ASKED
    if row["state"] == ASKED and _waited(calendar, row["asked_at"], today) >= policy.lookback_reminder_working_days:
        return REMINDED
    if row["state"] == REMINDED and _waited(calendar, row["reminded_at"], today) >= policy.lookback_no_response_working_days:
        return NO_RESPONSE
    return None


def _waited(calendar: WorkCalendar, since: datetime, today: date) -> int:
    return calendar.workdays_between(local(since).date(), today)


def _move(roster: Roster, row: dict[str, Any], step: str, now: datetime,
          problems: list[str]) -> tuple[dict[str, Any], Draft | None] | None:
    """The state move of one look-back, with the email that must go out for it (if any)."""
    move = {"lookback_id": row["lookback_id"], "case_id": row["case_id"], "from_state": row["state"],
            "state": step, "contact_email": None, "asked_at": None, "reminded_at": None}
    if step == NO_RESPONSE:
        return move, None
    who = checker(roster, row["community_id"], row["grid_id"])
    if who is None:
        problems.append(f"{row['case_id']}: 没有所属社区，回头看无人可问 / no community: nobody to ask for the look-back")
        return None
    move["contact_email"] = who.person.email
    move["asked_at" if step == ASKED else "reminded_at"] = now
    draft = question_draft(roster, row, who, reminder=step == REMINDED,
                           give_up_working_days=roster.policy.lookback_no_response_working_days)
    return move, draft


def _write_moves(wh: Warehouse, moves: list[dict[str, Any]], now: datetime, run_id: str) -> None:
    if not moves:
        return
    events = [{"case_id": m["case_id"], "occurred_at": now, "actor": "system", "kind": f"lookback_{m['state']}",
               "reason": _REASONS[m["state"]], "detail": json.dumps({"lookback_id": m["lookback_id"],
                                                                    "contact_email": m["contact_email"]}),
               "run_id": run_id} for m in moves]
    table = pa.Table.from_pylist(moves, schema=_MOVES)
    with wh.transaction():
        wh.con.register("_lookback_moves", table)
        try:
            wh.execute(load_query("lookbacks_move"), {"now": now})
            wh.execute(load_query("lookbacks_no_response_attention"), {"now": now})
        finally:
            wh.con.unregister("_lookback_moves")
        wh.append("case_events", events)


_MOVES = pa.schema([("lookback_id", pa.string()), ("case_id", pa.string()), ("from_state", pa.string()),
                    ("state", pa.string()), ("contact_email", pa.string()), ("asked_at", pa.timestamp("us")),
                    ("reminded_at", pa.timestamp("us"))])
_REASONS = {
    ASKED: "回头看：已询问现场情况 / look-back: asked whether the fix held",
    REMINDED: "回头看：未答复，已再次询问 / look-back: no answer, asked again",
    NO_RESPONSE: "回头看：提醒后仍未答复，记为未回复 / look-back: no answer after a reminder, recorded as no response",
}


class _Outcomes:
    """The case moves, events and new assignments of a night's look-back answers, written together."""

    def __init__(self, now: datetime, run_id: str):
        self.now, self.run_id = now, run_id
        self.cases: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.assignments: list[dict[str, Any]] = []

    def count(self, status: str) -> int:
        return sum(c["status"] == status for c in self.cases)

    def verify(self, row: dict[str, Any]) -> None:
        detail = {"lookback_id": row["lookback_id"], "satisfaction": row["satisfaction"],
                  "checked_by": row["contact_email"]}
        self._event(row, "verified", "resolved", "verified",
                    "回头看确认问题已解决 / the look-back confirmed the fix", detail)
        self._event(row, "closed", "verified", "closed", "核实后关闭 / closed after verification", detail)
        self.cases.append({"case_id": row["case_id"], "lookback_id": row["lookback_id"], "status": "closed",
                           "due_at": None})

    def reopen(self, row: dict[str, Any], due_at: datetime) -> None:
        assignment_id = f"{row['case_id']}/{row['assignment_count'] + 1}"
        self.assignments.append({
            "assignment_id": assignment_id, "case_id": row["case_id"], "unit_id": row["lead_unit_id"],
            "role": "lead", "state": "accepted", "candidate_rank": row["lead_rank"] or 0, "due_at": due_at,
            "responded_at": self.now, "deadline_set_at": self.now, "created_at": self.now, "updated_at": self.now,
            "route_detail": json.dumps({"reopened_from": row["lookback_id"]}),
        })
        detail = {"lookback_id": row["lookback_id"], "satisfaction": row["satisfaction"],
                  "checked_by": row["contact_email"], "due_at": due_at.isoformat()}
        self._event(row, "reopened", "resolved", "reopened",
                    "回头看发现问题未解决，重新交由原牵头单位办理 / not fixed at the look-back: back to the lead unit",
                    detail, unit_id=row["lead_unit_id"], assignment_id=assignment_id)
        self.cases.append({"case_id": row["case_id"], "lookback_id": row["lookback_id"], "status": "reopened",
                           "due_at": due_at})

    def _event(self, row: dict[str, Any], kind: str, from_status: str, to_status: str, reason: str,
               detail: dict[str, Any], unit_id: str | None = None, assignment_id: str | None = None) -> None:
        self.events.append({"case_id": row["case_id"], "occurred_at": self.now, "actor": "system", "kind": kind,
                            "from_status": from_status, "to_status": to_status, "unit_id": unit_id,
                            "assignment_id": assignment_id, "reason": reason,
                            "detail": json.dumps(detail, ensure_ascii=False), "run_id": self.run_id})

    def write(self, wh: Warehouse) -> None:
        if not self.cases:
            return
        table = pa.Table.from_pylist(self.cases, schema=pa.schema([
            ("case_id", pa.string()), ("lookback_id", pa.string()), ("status", pa.string()),
            ("due_at", pa.timestamp("us"))]))
        with wh.transaction():
            wh.append("assignments", self.assignments)
            wh.append("case_events", self.events)
            wh.con.register("_lookback_outcomes", table)
            try:
                wh.execute(load_query("lookbacks_apply"), {"now": self.now})
                wh.execute(load_query("lookbacks_mark_applied"), {"now": self.now})
            finally:
                wh.con.unregister("_lookback_outcomes")
