"""The agenda of a joint meeting: which cases and in which order (query agenda_candidates), and
everything the member units need to decide each one — the case in a few masked lines, its
history, the units already asked and their answers, the candidates from the resource list, a
proposed decision — plus, at the end of a rotating chair's term, the chair's term report.

Residents' names and phone numbers never reach an agenda: every free text of a case (title,
description, address, event reasons, decline reasons) is masked with the case's own reporter
data and the phone pattern (tasks/mail/privacy.py), and the reporter fields are not copied.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from liandong.clock import SHANGHAI, local, naive_utc
from liandong.roster import Community, Person, Roster
from liandong.workdays import WorkCalendar
from tasks.mail.privacy import redact
from tasks.meetings.chair import chair_term
from tasks.meetings.minutes import ItemDecision
from tasks.meetings.proposals import propose
from tasks.meetings.schedule import period_of
from liandong.settings import MeetingSettings
from tasks.routing.assign import unit_stats
from tasks.routing.candidates import Route, Router
from warehouse.store import Warehouse

TIMELINE_SHOWN = 10
SUMMARY_CHARS = 140
REASON_CHARS = 120
TERM_REPORT = "term_report"


class Selected(NamedTuple):
    case_id: str | None  # None: the term report
    item_kind: str
    proposal: ItemDecision | None


@dataclass(frozen=True)
class UnitRef:
    id: str
    name: str
    name_en: str  # the Chinese name when the roster gives no English one


@dataclass
class AgendaItem:
    position: int
    kind: str  # escalated | needs_meeting | overdue | reopened | several_units | action_item | term_report
    case_id: str | None
    pressing: bool = False
    case: dict[str, Any] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    earlier_events: int = 0
    asked: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    proposal: ItemDecision | None = None
    decision: ItemDecision | None = None


@dataclass(frozen=True)
class TermReport:
    chair: UnitRef
    starts: date
    last_day: date
    tracked: int
    closed: int
    still_open: int
    open_case_ids: list[str]


@dataclass
class Agenda:
    meeting_id: str
    community_id: str
    community_name: str
    kind: str  # regular | adhoc
    status: str
    sequence: int
    starts_at: datetime  # aware, Asia/Shanghai
    ends_at: datetime
    link: str
    coordinator: Person
    chair: UnitRef | None
    units: dict[str, UnitRef]  # the community's member units, in roster order
    items: list[AgendaItem]
    term_report: TermReport | None = None
    attendance: dict[str, list[UnitRef]] | None = None

    @property
    def case_items(self) -> list[AgendaItem]:
        return [i for i in self.items if i.case_id]


def unit_ref(roster: Roster, unit_id: str | None) -> UnitRef | None:
    """The unit as documents name it; a unit since removed from the roster keeps its id as name."""
    if unit_id is None:
        return None
    unit = next((u for u in roster.units if u.id == unit_id), None)
    return UnitRef(unit_id, unit.name, unit.name_en or unit.name) if unit else UnitRef(unit_id, unit_id, unit_id)


def previous_meeting(wh: Warehouse, community_id: str, before: datetime) -> str | None:
    return wh.scalar("SELECT meeting_id FROM meetings WHERE community_id = ? AND status = 'held' AND starts_at < ? "
                     "ORDER BY starts_at DESC LIMIT 1", [community_id, naive_utc(before)])


def select_items(wh: Warehouse, roster: Roster, calendar: WorkCalendar, settings: MeetingSettings,
                 community: Community, kind: str, starts_at: datetime, as_of: datetime,
                 on_agenda: Collection[str | None] = (), room: int | None = None) -> tuple[list[Selected], int]:
    """The cases the meeting should hear and does not have yet, with why and a proposed decision,
    in agenda order — the first `room` of them — and how many more qualify. An ad-hoc meeting
    hears the urgent and escalated ones only."""
    rows = [r for r in wh.query("agenda_candidates", {
        "community_id": community.id, "now": naive_utc(as_of), "several_units": settings.several_units,
        "previous_meeting_id": previous_meeting(wh, community.id, starts_at), "pressing_only": kind == "adhoc"})
        if r["case_id"] not in on_agenda]
    chosen = rows if room is None else rows[:room]
    case_ids = [r["case_id"] for r in chosen]
    cases = {r["case_id"]: r for r in wh.rows(
        "SELECT case_id, category, urgency, lead_unit_id FROM cases WHERE list_contains(?::VARCHAR[], case_id)",
        [case_ids])}
    asked = _by_case(wh.query("units_asked_about_cases", {"case_ids": case_ids}))
    router = Router(roster, unit_stats(wh, as_of))

    def proposal(case_id: str, kind: str) -> ItemDecision:
        case = cases[case_id]
        return propose(kind, case, asked.get(case_id, []), _route(router, case, community.id), roster.policy,
                       calendar, starts_at)

    return [Selected(r["case_id"], r["item_kind"], proposal(r["case_id"], r["item_kind"])) for r in chosen], \
        len(rows) - len(chosen)


def closes_chair_term(community: Community, starts_at: datetime) -> bool:
    """Whether a regular meeting at `starts_at` is the last of its chair's term (the term report
    is due): the next period of the cadence, with the next regular meeting, begins after the term.
    Periods, not meeting days, decide it, so next year's holidays need not be known yet."""
    day = starts_at.astimezone(SHANGHAI).date()
    term = chair_term(community, day)
    return term is not None and period_of(community.meeting_cadence, day).ends >= term.ends


def load_agenda(wh: Warehouse, roster: Roster, meeting_id: str, as_of: datetime) -> Agenda:
    """The agenda as the warehouse holds it now, ready to render; KeyError for an unknown meeting."""
    meetings = wh.rows("SELECT * FROM meetings WHERE meeting_id = ?", [meeting_id])
    if not meetings:
        raise KeyError(f"没有这次会议 / no such meeting: {meeting_id}")
    meeting = meetings[0]
    community = roster.community(meeting["community_id"])
    rows = wh.query("agenda_of_meeting", {"meeting_id": meeting_id})
    agenda = Agenda(
        meeting_id=meeting_id, community_id=community.id, community_name=community.name, kind=meeting["kind"],
        status=meeting["status"], sequence=meeting["sequence"], starts_at=local(meeting["starts_at"]),
        ends_at=local(meeting["ends_at"]), link=meeting["link"], coordinator=community.coordinator,
        chair=unit_ref(roster, meeting["chair_unit_id"]),
        units={u.id: unit_ref(roster, u.id) for u in roster.units if community.id in u.communities},
        items=_items(wh, roster, community, rows, as_of), attendance=_attendance(roster, meeting["attendance"]))
    if any(i.kind == TERM_REPORT for i in agenda.items):
        agenda.term_report = _term_report(wh, roster, community, agenda.starts_at, as_of)
    return agenda


def _items(wh: Warehouse, roster: Roster, community: Community, rows: list[dict[str, Any]],
           as_of: datetime) -> list[AgendaItem]:
    case_ids = [r["case_id"] for r in rows if r["case_id"]]
    timelines = _by_case(wh.query("case_timelines", {"case_ids": case_ids}))
    asked = _by_case(wh.query("units_asked_about_cases", {"case_ids": case_ids}))
    router = Router(roster, unit_stats(wh, as_of))
    grids = {g.id: g.name for g in community.grids}
    items = []
    for row in rows:
        item = AgendaItem(position=row["position"], kind=row["item_kind"], case_id=row["case_id"],
                          proposal=_decision(row["proposed_decision"]), decision=_decision(row["decision"]))
        if row["case_id"]:
            _describe(item, row, roster, grids, timelines.get(row["case_id"], []), asked.get(row["case_id"], []),
                      router, community.id)
        items.append(item)
    return items


def _describe(item: AgendaItem, row: dict[str, Any], roster: Roster, grids: dict[str, str],
              events: list[dict[str, Any]], asked: list[dict[str, Any]], router: Router, community_id: str) -> None:
    mask = _masker(row)
    # As query agenda_candidates orders them.
    item.pressing = (row["urgency"] == "urgent" or item.kind == "escalated") and item.kind != "action_item"
    item.case = _case_view(row, roster, grids, mask)
    item.earlier_events = max(len(events) - TIMELINE_SHOWN, 0)
    item.timeline = [{"at": e["occurred_at"], "kind": e["kind"], "unit": unit_ref(roster, e["unit_id"]),
                      "reason": _shorten(mask(e["reason"] or ""), REASON_CHARS)} for e in events[-TIMELINE_SHOWN:]]
    item.asked = [{"unit": unit_ref(roster, a["unit_id"]), "role": a["role"], "state": a["state"],
                   "reason": _shorten(mask(a["decline_reason"] or ""), REASON_CHARS)} for a in asked]
    item.candidates = _candidates(roster, router, _route(router, row, community_id), {a["unit_id"] for a in asked})


def _case_view(row: dict[str, Any], roster: Roster, grids: dict[str, str], mask: Callable[[str], str]) -> dict:
    category = next((c for c in roster.categories if c.id == row["category"]), None)
    return {
        "title": _shorten(mask(row["title"]), SUMMARY_CHARS),
        "summary": _shorten(mask(row["description"]), SUMMARY_CHARS),
        "category": {"name": category.name, "name_en": category.name_en or category.name} if category else None,
        "urgency": row["urgency"], "status": row["status"], "address": mask(row["address"] or ""),
        "grid": grids.get(row["grid_id"]), "due_at": row["due_at"], "lead": unit_ref(roster, row["lead_unit_id"]),
    }


def _candidates(roster: Roster, router: Router, route: Route | None, asked: set[str]) -> list[dict[str, Any]]:
    """The route's lead candidates in rank order (rule, then resource list; load, record). A unit
    with no finished case has no on-time rate (None), rather than the neutral rate ranking uses."""
    finished = {u for u, stats in router.stats.items() if stats.done_recent}
    return [{"unit": unit_ref(roster, c.unit_id), "why": c.why, "open_load": c.open_load, "capacity": c.capacity,
             "on_time": c.on_time if c.unit_id in finished else None, "asked": c.unit_id in asked,
             "resources": roster.unit(c.unit_id).resources}
            for c in (route.leads if route else [])]


def _term_report(wh: Warehouse, roster: Roster, community: Community, starts_at: datetime,
                 as_of: datetime) -> TermReport | None:
    term = chair_term(community, starts_at.date())
    if term is None:
        return None
    until = min(naive_utc(datetime.combine(term.ends, time(0), SHANGHAI)), naive_utc(as_of))
    figures = wh.query("chair_term_figures", {
        "community_id": community.id, "starts": naive_utc(datetime.combine(term.starts, time(0), SHANGHAI)),
        "ends": until})[0]
    return TermReport(chair=unit_ref(roster, term.unit_id), starts=term.starts,
                      last_day=term.ends - timedelta(days=1), tracked=figures["tracked"], closed=figures["closed"],
                      still_open=figures["still_open"], open_case_ids=list(figures["open_case_ids"]))


def _attendance(roster: Roster, stored: str | None) -> dict[str, list[UnitRef]] | None:
    if stored is None:
        return None
    return {k: [unit_ref(roster, u) for u in v] for k, v in json.loads(stored).items()}


def _route(router: Router, case: dict[str, Any], community_id: str) -> Route | None:
    return router.route(case["category"], community_id) if case["category"] else None


def _decision(stored: str | None) -> ItemDecision | None:
    return ItemDecision.model_validate_json(stored) if stored else None


def _by_case(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["case_id"], []).append(row)
    return grouped


def _masker(case: dict[str, Any]) -> Callable[[str], str]:
    """Masks the case's reporter name and phone wherever they recur, and any mobile number."""
    reporter = {"reporter_name": case["reporter_name"], "reporter_phone": case["reporter_phone"]}
    return lambda text: redact({**reporter, "text": text})["text"]


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
