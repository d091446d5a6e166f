"""Recording what a joint meeting decided (minutes.py has the shape) and acting on it, in one
transaction: per agenda item the decision and its time; per case an event by `meeting:<id>`
(meeting_decided | meeting_deferred | meeting_rejected | meeting_noted); for an assignment the
live assignments of the case are superseded and new ones created (state notified, as routing
creates them), the case moves to `assigned` with the lead and the deadline; a rejection closes
the case as `rejected` with the reason. Then the meeting is `held`, with its attendance.

The notices of the new assignments are the routing stage's (`assignment:<id>`, reporter data for
the lead only); they and the minutes are queued by the caller (`meeting_assignment_notices`,
drafts.minutes_drafts), which can do so again after a crash: both are found from the warehouse.
A meeting is recorded once: recording a held meeting again does nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from liandong.clock import SHANGHAI, naive_utc, resolve_as_of
from liandong.roster import Roster
from liandong.workdays import WorkCalendar
from tasks.mail.compose import Draft
from tasks.mail.notices import assignment_draft
from tasks.meetings.agenda import Agenda, AgendaItem
from tasks.meetings.minutes import ItemDecision, Minutes
from tasks.routing.assign import windows
from tasks.routing.notices import labelled, recipients
from warehouse.store import Warehouse

LIVE_STATES = ("notified", "accepted")
EVENT_OF = {"assign": "meeting_decided", "defer": "meeting_deferred", "reject": "meeting_rejected",
            "noted": "meeting_noted"}
NOT_DECIDED = "会上未作决定 / not decided at the meeting"


class DecisionsInvalid(ValueError):
    """Decisions that cannot be recorded as given; `problems` are bilingual lines."""

    def __init__(self, meeting_id: str, problems: list[str]):
        # The args are kept as given, so the exception survives pickling between processes.
        super().__init__(meeting_id, problems)
        self.meeting_id = meeting_id
        self.problems = problems

    def __str__(self) -> str:
        return (f"会议 {self.meeting_id} 的决定无法记录 / the decisions of meeting {self.meeting_id} cannot be "
                f"recorded: " + "; ".join(self.problems))


@dataclass
class Recorded:
    meeting_id: str
    already_recorded: bool = False
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVENT_OF, 0))
    assignment_ids: list[str] = field(default_factory=list)


def check_minutes(agenda: Agenda, minutes: Minutes, as_of: datetime) -> list[str]:
    """Everything that stops the minutes from being recorded, as bilingual lines (none: fine)."""
    problems = []
    if minutes.meeting_id not in (None, agenda.meeting_id):
        problems.append(f"纪要属于会议 {minutes.meeting_id} / the minutes are of meeting {minutes.meeting_id}")
    if agenda.status == "cancelled":
        problems.append("会议已取消 / the meeting was cancelled")
    if resolve_as_of(as_of) < agenda.starts_at:
        problems.append(f"会议尚未开始（{agenda.starts_at:%Y-%m-%d %H:%M}） / the meeting has not started yet")
    problems += [f"出席单位 {u} 不是本社区成员单位 / {u} is not a member unit"
                 for u in minutes.present_units or [] if u not in agenda.units]
    on_agenda = {i.case_id for i in agenda.case_items}
    seen: set[str] = set()
    for d in minutes.decisions:
        if d.case_id not in on_agenda:
            problems.append(f"{d.case_id}: 不在本次议程上 / not on this agenda")
        elif d.case_id in seen:
            problems.append(f"{d.case_id}: 决定重复 / decided twice")
        seen.add(d.case_id)
        problems += [f"{d.case_id}: {p}" for p in _decision_problems(d, agenda)]
    return problems


def _decision_problems(d: ItemDecision, agenda: Agenda) -> list[str]:
    if d.decision == "reject" and not d.reason.strip():
        return ["不予受理须写明理由 / a rejection needs a reason"]
    if d.decision != "assign":
        return []
    if d.lead_unit is None:
        return ["交办须指定牵头单位 / an assignment needs a lead unit"]
    problems = [f"{u} 不是本社区成员单位 / {u} is not a member unit"
                for u in [d.lead_unit, *d.support_units] if u not in agenda.units]
    if d.lead_unit in d.support_units:
        problems.append("牵头单位不能同时协办 / the lead unit cannot also support")
    if d.due_date and d.due_date < agenda.starts_at.date():
        problems.append(f"办结期限 {d.due_date} 早于会议 / the deadline {d.due_date} is before the meeting")
    return problems


def record_decisions(wh: Warehouse, roster: Roster, calendar: WorkCalendar, agenda: Agenda, minutes: Minutes,
                     source: str, as_of: datetime, run_id: str) -> Recorded:
    """Raises DecisionsInvalid; `source` is `form:<flow run id>` or `minutes:<file name>`."""
    recorded = Recorded(agenda.meeting_id)
    if agenda.status == "held":
        recorded.already_recorded = True
        return recorded
    problems = check_minutes(agenda, minutes, as_of)
    if problems:
        raise DecisionsInvalid(agenda.meeting_id, problems)
    now = naive_utc(as_of)
    given = {d.case_id: d for d in minutes.decisions}
    with wh.transaction():
        for item in agenda.items:
            decision = _decision_for(item, given)
            if item.case_id:
                recorded.counts[decision.decision] += 1
                recorded.assignment_ids += _act(wh, roster, calendar, agenda, item, decision, as_of, run_id)
            wh.execute("UPDATE agenda_items SET decision = ?, decided_at = ? WHERE meeting_id = ? AND position = ?",
                       [decision.model_dump_json(), now, agenda.meeting_id, item.position])
        present = minutes.present_units if minutes.present_units is not None else list(agenda.units)
        attendance = {"present": present, "absent": [u for u in agenda.units if u not in present]}
        wh.execute("UPDATE meetings SET status = 'held', held_at = ?, attendance = ?, decisions_source = ?, "
                   "updated_at = ? WHERE meeting_id = ?",
                   [now, json.dumps(attendance), source, now, agenda.meeting_id])
    return recorded


def _decision_for(item: AgendaItem, given: dict[str, ItemDecision]) -> ItemDecision:
    if item.case_id is None:
        return ItemDecision(case_id="", decision="noted")
    return given.get(item.case_id) or ItemDecision(case_id=item.case_id, decision="defer", reason=NOT_DECIDED)


def _act(wh: Warehouse, roster: Roster, calendar: WorkCalendar, agenda: Agenda, item: AgendaItem,
         decision: ItemDecision, as_of: datetime, run_id: str) -> list[str]:
    """The decision's event, then its effect. An assignment's status change is carried by the
    `assigned` event that follows, as routing writes it; a rejection's by the decision's own."""
    now, actor = naive_utc(as_of), f"meeting:{agenda.meeting_id}"
    rejected = decision.decision == "reject"
    wh.append("case_events", [_event(item.case_id, now, actor, EVENT_OF[decision.decision], _why(agenda, decision),
                                     run_id, from_status=item.case["status"] if rejected else None,
                                     to_status="rejected" if rejected else None,
                                     detail=decision.model_dump(mode="json"))])
    if rejected:
        _supersede(wh, item.case_id, actor, now, run_id)
        wh.execute("UPDATE cases SET status = 'rejected', status_reason = ?, updated_at = ? WHERE case_id = ?",
                   [decision.reason, now, item.case_id])
    if decision.decision != "assign":
        return []
    case = wh.rows("SELECT category, urgency FROM cases WHERE case_id = ?", [item.case_id])[0]
    accept_by, default_due = windows(calendar, roster.policy, as_of, case["category"], case["urgency"])
    return assign_by_meeting(wh, meeting_id=agenda.meeting_id, case_id=item.case_id, lead_unit=decision.lead_unit,
                             support_units=decision.support_units, accept_by=accept_by,
                             due_at=_end_of(decision.due_date) if decision.due_date else default_due, now=now,
                             run_id=run_id)


def assign_by_meeting(wh: Warehouse, *, meeting_id: str, case_id: str, lead_unit: str, support_units: list[str],
                      accept_by: datetime, due_at: datetime, now: datetime, run_id: str) -> list[str]:
    """A meeting's "X leads, Y supports": the case's live assignments are superseded and new
    ones created as routing creates them (state `notified`, acceptance window, deadline), the
    case moves to `assigned` under the new lead and deadline (its escalation answered). Call it
    inside a transaction; returns the new assignment ids, lead first. Timestamps naive UTC."""
    actor = f"meeting:{meeting_id}"
    _supersede(wh, case_id, actor, now, run_id)
    status, count = wh.execute("SELECT c.status, (SELECT count(*) FROM assignments a WHERE a.case_id = c.case_id) "
                               "FROM cases c WHERE c.case_id = ?", [case_id]).fetchone()
    rows, events = [], []
    for n, (unit_id, role) in enumerate([(lead_unit, "lead"), *((u, "support") for u in support_units)], start=1):
        assignment_id = f"{case_id}/{count + n}"
        rows.append({"assignment_id": assignment_id, "case_id": case_id, "unit_id": unit_id, "role": role,
                     "state": "notified", "candidate_rank": 0, "accept_by": accept_by, "due_at": due_at,
                     "route_detail": json.dumps({"meeting": meeting_id}), "created_at": now, "updated_at": now})
        lead = role == "lead"
        events.append(_event(case_id, now, actor, "assigned" if lead else "support_assigned",
                             f"联席会议 {meeting_id} 决定{'牵头' if lead else '协办'} / {role} by decision of "
                             f"joint meeting {meeting_id}", run_id, from_status=status if lead else None,
                             to_status="assigned" if lead else None, unit_id=unit_id, assignment_id=assignment_id))
    wh.append("assignments", rows)
    wh.append("case_events", events)
    wh.execute("UPDATE cases SET status = 'assigned', lead_unit_id = ?, due_at = ?, escalated_at = NULL, "
               "updated_at = ? WHERE case_id = ?", [lead_unit, due_at, now, case_id])
    return [r["assignment_id"] for r in rows]


def meeting_assignment_notices(wh: Warehouse, roster: Roster, meeting_id: str) -> list[Draft]:
    """The routing stage's notice for each assignment the meeting made that has none yet, naming
    the supporting units the meeting chose."""
    made = set(_made_by(wh, meeting_id))
    rows = [r for r in wh.query("assignments_without_notice") if r["assignment_id"] in made]
    chosen: dict[str, list[str]] = {}
    for r in rows:
        if r["role"] == "support":
            chosen.setdefault(r["case_id"], []).append(roster.unit(r["unit_id"]).name)
    drafts = []
    for r in rows:
        unit = roster.unit(r["unit_id"])
        to = recipients(unit)
        drafts.append(assignment_draft(
            case=labelled(r, roster, to[0].locale), assignment_id=r["assignment_id"], role=r["role"],
            unit_id=unit.id, unit_name=unit.name, to=to, accept_by=r["accept_by"], due_at=r["due_at"],
            lead_unit_name=roster.unit(r["lead_unit_id"]).name, support_unit_names=chosen.get(r["case_id"], [])))
    return drafts


def _made_by(wh: Warehouse, meeting_id: str) -> list[str]:
    rows = wh.execute("SELECT assignment_id FROM assignments WHERE json_extract_string(route_detail, '$.meeting') = ?",
                      [meeting_id]).fetchall()
    return [r[0] for r in rows]


def _supersede(wh: Warehouse, case_id: str, actor: str, now: datetime, run_id: str) -> None:
    live = wh.rows("SELECT assignment_id, unit_id, role FROM assignments WHERE case_id = ? AND list_contains(?, state)",
                   [case_id, list(LIVE_STATES)])
    if not live:
        return
    wh.execute("UPDATE assignments SET state = 'superseded', updated_at = ? WHERE case_id = ? "
               "AND list_contains(?, state)", [now, case_id, list(LIVE_STATES)])
    why = "由联席会议决定重新交办 / replaced by a meeting decision"
    wh.append("case_events", [_event(case_id, now, actor, "superseded", why, run_id, unit_id=a["unit_id"],
                                     assignment_id=a["assignment_id"]) for a in live])


def _event(case_id: str, now: datetime, actor: str, kind: str, reason: str, run_id: str, *,
           from_status: str | None = None, to_status: str | None = None, unit_id: str | None = None,
           assignment_id: str | None = None, detail: Any = None) -> dict[str, Any]:
    return {"case_id": case_id, "occurred_at": now, "actor": actor, "kind": kind, "from_status": from_status,
            "to_status": to_status, "unit_id": unit_id, "assignment_id": assignment_id, "reason": reason,
            "detail": json.dumps(detail, ensure_ascii=False) if detail is not None else None, "run_id": run_id}


def _why(agenda: Agenda, decision: ItemDecision) -> str:
    said = f"：{decision.reason}" if decision.reason else ""
    return (f"联席会议 {agenda.meeting_id}（{agenda.starts_at:%Y-%m-%d}）决定{said} / "
            f"decided at joint meeting {agenda.meeting_id} ({agenda.starts_at:%Y-%m-%d}): {decision.decision}")


def _end_of(day: date) -> datetime:
    """A deadline date as the warehouse's timestamp: 23:59:59 Beijing time that day."""
    return naive_utc(datetime.combine(day, time(23, 59, 59), SHANGHAI))
