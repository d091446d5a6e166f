"""Extensions (延期) approved by a community's coordinator: the deadline of a case moves by N
working days, from the current deadline or, if that has passed, from today. The case, its live
assignments and the escalation flag follow; an `extension_granted` event records who approved
it and why; the lead unit is told. A moved deadline restarts the chasing ladder.

A grant is idempotent: the same request (case, days, reason, approver) is applied once, so a
retried or rerun flow does not extend twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time

from pydantic import BaseModel, Field, ValidationError

from liandong.clock import SHANGHAI, local, naive_utc
from liandong.roster import Roster
from liandong.workdays import CalendarYearNotCovered, WorkCalendar
from tasks.chase.notices import CASE_FIELDS, contacts_by_locale
from tasks.mail.compose import Composer, Draft
from tasks.mail.outbox import QueueReport, queue_drafts
from tasks.routing.notices import labelled
from warehouse.store import Warehouse, load_query

OPEN = ("assigned", "in_progress", "reopened")


class ExtensionRequest(BaseModel):
    """An extension as a coordinator enters it in the flow's form."""

    case_id: str = Field(pattern=r"^LD-\d{4}-\d{6}$", description="诉求编号 / case number")
    working_days: int = Field(ge=1, description="延长的工作日数 / working days to add")
    reason: str = Field(min_length=2, description="延期原因 / why")
    approved_by: str = Field(description="批准的社区协调人邮箱 / the approving coordinator's email")


class ExtensionRefused(ValueError):
    """An extension that cannot be granted; says why in Chinese and English."""

    def __init__(self, case_id: str, zh: str, en: str):
        super().__init__(case_id, zh, en)
        self.case_id, self.zh, self.en = case_id, zh, en

    def __str__(self) -> str:
        return f"{self.case_id} 延期未批准：{self.zh} / {self.case_id}: extension refused: {self.en}"


@dataclass(frozen=True)
class ExtensionGranted:
    case_id: str
    assignment_id: str
    from_due: datetime  # naive UTC, like the warehouse
    to_due: datetime
    already: bool = False  # the same request was granted before: nothing changed


@dataclass
class ExtensionsResult:
    granted: list[ExtensionGranted] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    queued: QueueReport = field(default_factory=QueueReport)


def grant_extension(wh: Warehouse, roster: Roster, calendar: WorkCalendar, case_id: str, working_days: int,
                    reason: str, approved_by: str, as_of: datetime, run_id: str) -> ExtensionGranted:
    """Move the case's deadline; raises ExtensionRefused (bilingual) when it cannot be granted."""
    request = _request(case_id, working_days, reason, approved_by)
    fingerprint = f"{request.working_days}|{request.reason}|{request.approved_by}"
    if (previous := _previous_grant(wh, case_id, fingerprint)) is not None:
        return previous
    case = _case(wh, roster, request)
    to_due = _new_deadline(calendar, request, case["lead_due_at"], local(as_of).date())
    now = naive_utc(as_of)
    detail = {"request": fingerprint, "working_days": request.working_days, "approved_by": request.approved_by,
              "from_due": case["lead_due_at"].isoformat(), "to_due": to_due.isoformat()}
    event = {"case_id": case_id, "occurred_at": now, "actor": f"coordinator:{request.approved_by}",
             "kind": "extension_granted", "assignment_id": case["assignment_id"], "unit_id": case["unit_id"],
             "reason": request.reason, "detail": json.dumps(detail, ensure_ascii=False), "run_id": run_id}
    moved = {"case_id": case_id, "due_at": to_due, "now": now}
    with wh.transaction():
        wh.execute(load_query("assignments_move_deadline"), moved)
        wh.execute(load_query("cases_move_deadline"), moved)
        wh.append("case_events", [event])
    return ExtensionGranted(case_id, case["assignment_id"], case["lead_due_at"], to_due)


def grant_extensions(wh: Warehouse, roster: Roster, calendar: WorkCalendar, composer: Composer,
                     requests: list[ExtensionRequest], as_of: datetime, run_id: str) -> ExtensionsResult:
    """Every request, each on its own (a refused one does not stop the others), then the notices
    of every grant not yet in the outbox."""
    result = ExtensionsResult()
    for r in requests:
        try:
            result.granted.append(grant_extension(wh, roster, calendar, r.case_id, r.working_days, r.reason,
                                                  r.approved_by, as_of, run_id))
        except ExtensionRefused as exc:
            result.refused.append(str(exc))
    result.queued = queue_drafts(wh, composer, extension_notices(wh, roster), as_of)
    return result


def extension_notices(wh: Warehouse, roster: Roster) -> list[Draft]:
    """The lead unit's notice of each grant not yet in the outbox, one per contact language."""
    drafts = []
    for row in wh.query("extension_notices_pending"):
        detail = json.loads(row["detail"])
        unit = roster.unit(row["unit_id"])
        approver = next((c.coordinator.name for c in roster.communities
                         if c.coordinator.email == detail["approved_by"]), detail["approved_by"])
        for locale, to in contacts_by_locale(unit):
            drafts.append(Draft(
                idempotency_key=f"extension:{row['event_id']}:{locale}", purpose="reminder",
                template="extension_granted", to=to, case_id=row["case_id"], assignment_id=row["assignment_id"],
                unit_id=unit.id,
                context={"unit_name": unit.name, "case": labelled({f: row[f] for f in CASE_FIELDS}, roster, locale),
                         "from_due": datetime.fromisoformat(detail["from_due"]),
                         "to_due": datetime.fromisoformat(detail["to_due"]),
                         "working_days": detail["working_days"], "reason": row["reason"],
                         "approved_by_name": approver},
            ))
    return drafts


def _request(case_id: str, working_days: int, reason: str, approved_by: str) -> ExtensionRequest:
    try:
        return ExtensionRequest(case_id=case_id, working_days=working_days, reason=reason.strip(),
                                approved_by=approved_by.strip().lower())
    except ValidationError as exc:
        raise ExtensionRefused(case_id, "申请填写有误：须有诉求编号、正整数的工作日数和原因",
                               f"invalid request: {exc.errors(include_url=False)}") from None


def _previous_grant(wh: Warehouse, case_id: str, fingerprint: str) -> ExtensionGranted | None:
    """The same request granted before (a retried or rerun flow): reported, not applied again."""
    for row in wh.rows("SELECT assignment_id, detail FROM case_events WHERE case_id = ? AND kind = 'extension_granted'",
                       [case_id]):
        detail = json.loads(row["detail"])
        if detail["request"] == fingerprint:
            return ExtensionGranted(case_id, row["assignment_id"], datetime.fromisoformat(detail["from_due"]),
                                    datetime.fromisoformat(detail["to_due"]), already=True)
    return None


def _case(wh: Warehouse, roster: Roster, request: ExtensionRequest) -> dict:
    def refuse(zh: str, en: str) -> ExtensionRefused:
        return ExtensionRefused(request.case_id, zh, en)

    rows = wh.query("case_for_extension", {"case_id": request.case_id})
    if not rows:
        raise refuse("没有这件诉求", "no such case")
    case = rows[0]
    if case["status"] not in OPEN or case["assignment_id"] is None or case["lead_due_at"] is None:
        raise refuse(f"诉求当前状态为 {case['status']}，没有在办的牵头单位",
                     f"the case is {case['status']} and has no lead unit at work")
    community = next((c for c in roster.communities if c.id == case["community_id"]), None)
    if community is None or community.coordinator.email != request.approved_by:
        raise refuse("只有诉求所属社区的协调人可以批准延期", "only the coordinator of the case's community may approve")
    limit = roster.policy.max_extension_working_days
    if request.working_days > limit:
        raise refuse(f"一次最多延长 {limit} 个工作日", f"at most {limit} working days per extension")
    return case


def _new_deadline(calendar: WorkCalendar, request: ExtensionRequest, due_at: datetime, today: date) -> datetime:
    """N working days after the current deadline, or after today if that has passed."""
    base = max(local(due_at).date(), today)
    try:
        return naive_utc(calendar.deadline(datetime.combine(base, time(12), SHANGHAI), request.working_days))
    except CalendarYearNotCovered as exc:
        raise ExtensionRefused(request.case_id, f"新期限无法计算。{exc.zh}", f"the new deadline cannot be computed. {exc.en}") from None
