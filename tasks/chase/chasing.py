"""The chasing ladder for one night: find the rung each lead assignment stands on, queue the
emails (digests by default), then record the rungs sent, the `overdue` and `escalated` case
events and the escalation flag in one transaction.

The emails are queued before the rungs are recorded, under keys derived from the items: a
crash in between leaves the same rungs due on the rerun, which yields the same keys, so the
outbox adds nothing and the rungs are then recorded. A rung counts as sent once an email
carrying it is in the outbox; one whose every email failed to compose is tried again the
next night (the outbox puts the failure on the coordinator's attention list).

Chase mail goes out on working days only: a rung that falls due on a weekend or a holiday waits
for the next working day, when people read it (and no "overdue" arrives on the first morning of
a holiday). Acceptance windows still expire every night (expiry.py).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from liandong.clock import local, naive_utc
from liandong.roster import Roster
from liandong.workdays import CalendarYearNotCovered, WorkCalendar
from tasks.chase.gaps import CalendarGaps
from tasks.chase.ladder import DUE_TODAY, ESCALATION, OVERDUE, REMINDER, rungs_tonight
from tasks.chase.notices import Carried, Item, escalation_drafts, unit_drafts
from tasks.mail.compose import Composer
from tasks.mail.outbox import QueueReport, queue_drafts
from warehouse.store import Warehouse, load_query


@dataclass
class LadderResult:
    working_day: bool = True  # False: a weekend or holiday, nothing was sent
    reminders: int = 0
    due_today: int = 0
    overdue: int = 0
    escalated: int = 0
    queued: QueueReport = field(default_factory=QueueReport)
    problems: list[str] = field(default_factory=list)


def chase_ladder(wh: Warehouse, roster: Roster, calendar: WorkCalendar, composer: Composer, as_of: datetime,
                 run_id: str) -> LadderResult:
    result = LadderResult()
    today = local(as_of).date()
    try:
        result.working_day = calendar.is_workday(today)
    except CalendarYearNotCovered as exc:
        result.working_day = False
        result.problems.append(f"今天的催办全部暂停：{exc.zh} / No deadline can be chased today: {exc.en}")
        return result
    if not result.working_day:
        return result
    unit_items, escalations = _items_tonight(wh, roster, calendar, today, result.problems)
    carried = unit_drafts(roster, unit_items, today) + escalation_drafts(roster, escalations, today, result.problems)
    result.queued = queue_drafts(wh, composer, [draft for draft, _ in carried], as_of)
    sent = _sent_items(carried, result.queued)
    _record(wh, sent, naive_utc(as_of), run_id)
    kinds = Counter(item.kind for item in sent)
    result.reminders, result.due_today = kinds[REMINDER], kinds[DUE_TODAY]
    result.overdue, result.escalated = kinds[OVERDUE], kinds[ESCALATION]
    return result


def _items_tonight(wh: Warehouse, roster: Roster, calendar: WorkCalendar, today: date,
                   problems: list[str]) -> tuple[list[Item], list[Item]]:
    unit_items: list[Item] = []
    escalations: list[Item] = []
    gaps = CalendarGaps()
    units = {u.id for u in roster.units}
    for row in wh.query("chase_open_deadlines"):
        if row["unit_id"] not in units:
            problems.append(f"{row['case_id']}: 牵头单位 {row['unit_id']} 已不在花名册中，无法催办"
                            f" / lead unit {row['unit_id']} is no longer in the roster: not chased")
            continue
        try:
            rungs = rungs_tonight(calendar, roster.policy, today, local(row["due_at"]).date(),
                                  local(row["deadline_set_at"]).date())
        except CalendarYearNotCovered as exc:
            gaps.add(row["case_id"], exc)
            continue
        if rungs.unit and rungs.unit not in row["sent"]:
            unit_items.append(Item(rungs.unit, rungs.working_days, row))
        if rungs.escalation and ESCALATION not in row["sent"]:
            escalations.append(Item(ESCALATION, rungs.working_days, row))
    problems += gaps.lines("催办期限", "deadline reminders")
    return unit_items, escalations


def _sent_items(carried: list[Carried], queued: QueueReport) -> dict[Item, list[str]]:
    """Each item whose email is in the outbox (queued now or before), with the keys carrying it."""
    rejected = {key for key, _ in queued.rejected}
    sent: dict[Item, list[str]] = {}
    for draft, items in carried:
        if draft.idempotency_key not in rejected:
            for item in items:
                sent.setdefault(item, []).append(draft.idempotency_key)
    return sent


def _record(wh: Warehouse, sent: dict[Item, list[str]], now: datetime, run_id: str) -> None:
    if not sent:
        return
    ledger = [{"assignment_id": i.row["assignment_id"], "rung": i.rung, "due_at": i.row["due_at"],
               "case_id": i.case_id, "unit_id": i.row["unit_id"], "community_id": i.row["community_id"],
               "message_keys": " ".join(keys), "noticed_at": now, "run_id": run_id} for i, keys in sent.items()]
    events = [_event(i, now, run_id) for i in sent if i.kind in (OVERDUE, ESCALATION)]
    escalated = [{"case_id": i.case_id} for i in sent if i.kind == ESCALATION]
    with wh.transaction():
        wh.append("chase_notices", ledger, skip_existing=True)
        wh.append("case_events", events)
        if escalated:
            wh.con.register("_escalated", pa.Table.from_pylist(escalated))
            try:
                wh.execute(load_query("cases_mark_escalated"), {"now": now})
            finally:
                wh.con.unregister("_escalated")


def _event(item: Item, now: datetime, run_id: str) -> dict[str, Any]:
    if item.kind == OVERDUE:
        reason = "逾期未办结，已通知牵头单位并抄送社区协调人 / past the deadline: lead unit told, coordinator in copy"
    else:
        reason = (f"逾期 {item.working_days} 个工作日，已报轮值主席和督办，列入下次联席会议 / "
                  f"{item.working_days} working days overdue: escalated to the rotating chair and the supervisor, "
                  f"on the next joint-meeting agenda")
    return {"case_id": item.case_id, "occurred_at": now, "actor": "system",
            "kind": "escalated" if item.kind == ESCALATION else OVERDUE,
            "assignment_id": item.row["assignment_id"], "unit_id": item.row["unit_id"], "reason": reason,
            "detail": json.dumps({"due_at": item.row["due_at"].isoformat(), "working_days": item.working_days}),
            "run_id": run_id}

