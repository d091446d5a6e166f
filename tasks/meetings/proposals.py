"""The decision the agenda proposes for each item, as a practitioner would prepare it; the
meeting confirms or changes it.

- needs_meeting: every candidate declined or let it expire, so the best-ranked candidate not yet
  asked leads if there is one, else the best-ranked of all (the meeting asks it to reconsider),
  with the rule's supporting units and the runner-up in support;
- escalated, overdue, reopened: the current lead keeps the case with the runner-up joining in
  support and a fresh deadline, the chair supervising (督办);
- no candidate at all: defer, the meeting names a unit;
- several_units, action_item, term_report: noted (a progress check changes nothing).
Deadlines are the policy's handling time for the case's urgency, counted from the meeting
(none when the calendar does not reach that far yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from liandong.clock import SHANGHAI
from liandong.roster import Policy
from liandong.workdays import CalendarYearNotCovered, WorkCalendar
from tasks.meetings.minutes import ItemDecision
from tasks.routing.assign import handling_days
from tasks.routing.candidates import Route

NEEDS_A_UNIT = ("escalated", "needs_meeting", "overdue", "reopened")
NO_CANDIDATE = "没有可承办的候选单位，请会议指定 / no candidate unit: the meeting names one"


def propose(kind: str, case: dict[str, Any], asked: Sequence[dict[str, Any]], route: Route | None,
            policy: Policy, calendar: WorkCalendar, starts_at: datetime) -> ItemDecision:
    if kind not in NEEDS_A_UNIT:
        return ItemDecision(case_id=case["case_id"], decision="noted")
    ranked = [c.unit_id for c in route.leads] if route else []
    lead = case["lead_unit_id"] if kind != "needs_meeting" and case["lead_unit_id"] else _fresh_lead(ranked, asked)
    if lead is None:
        return ItemDecision(case_id=case["case_id"], decision="defer", reason=NO_CANDIDATE)
    runner_up = [u for u in ranked if u != lead][:1]
    supports = [u for u in dict.fromkeys([*(route.supports if route else []), *runner_up]) if u != lead]
    return ItemDecision(case_id=case["case_id"], decision="assign", lead_unit=lead, support_units=supports,
                        due_date=_due_date(case, policy, calendar, starts_at))


def _due_date(case: dict[str, Any], policy: Policy, calendar: WorkCalendar, starts_at: datetime) -> date | None:
    """None when the deadline would reach a year the calendar lacks: the proposal stays usable,
    and recording the decision counts the policy's deadline then (loudly, if the year is still missing)."""
    try:
        due = calendar.deadline(starts_at, handling_days(policy, case["category"], case["urgency"]))
    except CalendarYearNotCovered:
        return None
    return due.astimezone(SHANGHAI).date()


def _fresh_lead(ranked: list[str], asked: Sequence[dict[str, Any]]) -> str | None:
    asked_to_lead = {a["unit_id"] for a in asked if a["role"] == "lead"}
    return next((u for u in ranked if u not in asked_to_lead), ranked[0] if ranked else None)
