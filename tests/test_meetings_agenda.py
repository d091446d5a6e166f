"""Joint-meeting agendas on a constructed warehouse: which cases, in which order, with which
details, masked; convening again (unchanged, updated, moved) and the minimum notice.

`Scene` builds the warehouse states the meeting tests share (test_meetings_*.py import it)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import count

import pytest

from liandong.clock import SHANGHAI, naive_utc
from liandong.resources import Resources
from liandong.settings import Settings
from tasks.meetings.agenda import load_agenda
from tasks.meetings.convene import convene
from tasks.meetings.render import MeetingDocuments
from tasks.meetings.schedule import MeetingTooSoon
from tasks.meetings.summary import convened_line
from liandong.settings import MeetingSettings
from warehouse.store import Warehouse

AS_OF = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)  # a Friday
MEETING = datetime(2026, 11, 24, 14, 30, tzinfo=SHANGHAI)  # the Tuesday after
REPORTER, PHONE = "王小明", "13812345678"
MEETINGS = MeetingSettings()


class Scene:
    """Cases, events and assignments written straight into the warehouse, timed before AS_OF."""

    def __init__(self, wh: Warehouse):
        self.wh = wh
        self._serial = count(1)
        self._assignments: dict[str, int] = {}

    def case(self, *, status: str = "assigned", urgency: str = "normal", category: str | None = "noise",
             community: str = "xingguang", lead: str | None = None, due_in_days: float | None = 5,
             days_ago: float = 10, title: str = "歌厅夜间噪音扰民", description: str | None = None) -> str:
        case_id = f"LD-2026-{next(self._serial):06d}"
        received = naive_utc(AS_OF - timedelta(days=days_ago))
        self.wh.append("cases", [{
            "case_id": case_id, "source": "test", "source_ref": case_id, "received_at": received,
            "title": title, "category": category, "urgency": urgency, "community_id": community,
            "description": description or f"居民{REPORTER}反映夜里吵得睡不着，电话{PHONE}",
            "address": "星光路12号", "grid_id": "xg-01", "reporter_name": REPORTER, "reporter_phone": PHONE,
            "status": status, "lead_unit_id": lead,
            "due_at": None if due_in_days is None else naive_utc(AS_OF + timedelta(days=due_in_days)),
            "created_at": received, "updated_at": received}])
        self.event(case_id, "received", days_ago, to_status="new")
        return case_id

    def event(self, case_id: str, kind: str, days_ago: float, *, unit: str | None = None, reason: str = "",
              to_status: str | None = None) -> None:
        self.wh.append("case_events", [{
            "case_id": case_id, "occurred_at": naive_utc(AS_OF - timedelta(days=days_ago)), "actor": "system",
            "kind": kind, "to_status": to_status, "unit_id": unit, "reason": reason or kind}])

    def assignment(self, case_id: str, unit: str, *, role: str = "lead", state: str = "accepted",
                   decline_reason: str | None = None, days_ago: float = 9) -> str:
        n = self._assignments[case_id] = self._assignments.get(case_id, 0) + 1
        at = naive_utc(AS_OF - timedelta(days=days_ago))
        assignment_id = f"{case_id}/{n}"
        self.wh.append("assignments", [{
            "assignment_id": assignment_id, "case_id": case_id, "unit_id": unit, "role": role, "state": state,
            "candidate_rank": n - 1, "accept_by": at + timedelta(days=1), "due_at": at + timedelta(days=10),
            "decline_reason": decline_reason, "responded_at": at + timedelta(hours=3) if state != "notified" else None,
            "created_at": at, "updated_at": at}])
        return assignment_id

    def declined_by_all(self, **case) -> str:
        """Every noise candidate declined: the case waits for a meeting (routing's needs_meeting)."""
        case_id = self.case(status="needs_meeting", due_in_days=None, **case)
        self.assignment(case_id, "pcs-xg", state="declined", decline_reason=f"不归我们管，请联系{REPORTER}")
        self.assignment(case_id, "eco-bureau", state="declined", decline_reason="超出职能")
        self.event(case_id, "needs_meeting", 7, to_status="needs_meeting")
        return case_id

    def held_meeting(self, meeting_id: str, days_ago: float, decisions: dict[str, dict]) -> None:
        at = naive_utc(AS_OF - timedelta(days=days_ago))
        self.wh.append("meetings", [{"meeting_id": meeting_id, "community_id": "xingguang", "kind": "regular",
                                     "starts_at": at, "ends_at": at + timedelta(hours=1), "status": "held",
                                     "sequence": 0, "link": "https://meet.example.cn/x", "created_at": at,
                                     "updated_at": at}])
        self.wh.append("agenda_items", [
            {"meeting_id": meeting_id, "position": n, "case_id": case_id, "item_kind": "needs_meeting",
             "decision": json.dumps({"case_id": case_id, **decision}), "decided_at": at}
            for n, (case_id, decision) in enumerate(decisions.items(), start=1)])


@pytest.fixture
def resources(settings: Settings) -> Resources:
    return Resources(settings)


def build_mixed_agenda(scene: Scene) -> dict[str, str]:
    """One case for every reason to be on an agenda, and some that must stay off; name → case id."""
    cases = {
        "needs_meeting": scene.declined_by_all(),
        "urgent_needs_meeting": scene.declined_by_all(urgency="urgent", title="燃气泄漏隐患"),
        "overdue": scene.case(lead="pcs-xg", due_in_days=-2),
        "overdue_high": scene.case(lead="pcs-xg", due_in_days=-1, urgency="high"),
        "escalated": scene.case(status="in_progress", lead="pcs-xg", due_in_days=-6),
        "escalated_high": scene.case(status="in_progress", lead="pcs-xg", due_in_days=-6, urgency="high"),
        "reopened": scene.case(status="reopened", lead="urban-mgmt", category="sanitation"),
        "several_units": scene.case(lead="urban-mgmt", category="sanitation"),
        "action_item": scene.case(lead="urban-mgmt", category="roads"),
        "quiet": scene.case(lead="pcs-xg"),
        "resolved": scene.case(status="resolved", lead="pcs-xg", due_in_days=-3),
        "other_community": scene.declined_by_all(community="donghu"),
        "extended": scene.case(status="in_progress", lead="pcs-xg"),
    }
    for name in ("escalated", "escalated_high", "extended"):
        scene.event(cases[name], "escalated", 2, unit="pcs-xg")
    scene.event(cases["extended"], "extension_granted", 1, unit="pcs-xg")
    for unit, role in (("urban-mgmt", "lead"), ("eco-bureau", "support"), ("pcs-xg", "support")):
        scene.assignment(cases["several_units"], unit, role=role)
    scene.held_meeting("xingguang-2026-10", 30, {
        cases["action_item"]: {"decision": "assign", "lead_unit": "urban-mgmt"},
        cases["quiet"]: {"decision": "defer"}})
    return cases


def test_agenda_chooses_and_orders_the_items(resources):
    with resources.warehouse() as wh:
        cases = build_mixed_agenda(Scene(wh))
        convened = convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "regular", MEETING, AS_OF)
        agenda = load_agenda(wh, resources.roster, convened.meeting_id, AS_OF)
    names = {v: k for k, v in cases.items()}
    assert convened.meeting_id == "xingguang-2026-11" and convened.outcome == "created"
    assert [(names[i.case_id], i.kind, i.pressing) for i in agenda.items] == [
        # urgent and escalated first: escalated (high before normal), then the urgent refusal
        ("escalated_high", "escalated", True),
        ("escalated", "escalated", True),
        ("urgent_needs_meeting", "needs_meeting", True),
        ("needs_meeting", "needs_meeting", False),
        ("overdue_high", "overdue", False),
        ("overdue", "overdue", False),
        ("reopened", "reopened", False),
        ("several_units", "several_units", False),
        ("action_item", "action_item", False),
    ]
    assert [i.position for i in agenda.items] == list(range(1, 10))


def test_each_item_has_history_answers_candidates_and_a_proposal(resources):
    with resources.warehouse() as wh:
        cases = build_mixed_agenda(Scene(wh))
        convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "regular", MEETING, AS_OF)
        agenda = load_agenda(wh, resources.roster, "xingguang-2026-11", AS_OF)
    item = next(i for i in agenda.items if i.case_id == cases["needs_meeting"])
    assert item.case["title"] == "歌厅夜间噪音扰民" and item.case["address"] == "星光路12号"
    assert item.case["grid"] == "星光第一网格" and item.case["category"]["name"] == "噪音扰民"
    assert [e["kind"] for e in item.timeline] == ["received", "needs_meeting"]
    assert [(a["unit"].id, a["state"]) for a in item.asked] == [("pcs-xg", "declined"), ("eco-bureau", "declined")]
    assert [(c["unit"].id, c["why"], c["asked"]) for c in item.candidates] == [
        ("pcs-xg", "rule", True), ("eco-bureau", "resource_list", True)]
    # Everyone was asked: the best-ranked candidate is asked to reconsider, with the rule's support.
    proposal = item.proposal
    assert (proposal.decision, proposal.lead_unit, proposal.support_units) == ("assign", "pcs-xg", ["eco-bureau"])
    assert proposal.due_date == datetime(2026, 12, 8).date()  # 10 working days after the meeting
    overdue = next(i for i in agenda.items if i.case_id == cases["overdue"])
    assert overdue.proposal.lead_unit == "pcs-xg"  # the current lead keeps it, with help
    action = next(i for i in agenda.items if i.case_id == cases["action_item"])
    assert action.proposal.decision == "noted"
    assert agenda.chair.id == "pcs-xg" and agenda.link.endswith("/xingguang/xingguang-2026-11")


def test_residents_never_appear_in_any_form_of_the_agenda(resources):
    with resources.warehouse() as wh:
        build_mixed_agenda(Scene(wh))
        convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "regular", MEETING, AS_OF)
        agenda = load_agenda(wh, resources.roster, "xingguang-2026-11", AS_OF)
    documents = MeetingDocuments()
    for locale in ("zh-CN", "en"):
        rendered = documents.agenda(agenda, locale)
        for text, star in ((rendered.text, "*"), (rendered.html, "*"), (rendered.markdown, r"\*")):
            assert REPORTER not in text and PHONE not in text
            assert f"王{star * 2}" in text and f"138{star * 4}5678" in text
            assert "LD-2026-000001" in text


def test_a_full_agenda_takes_the_most_pressing_cases_and_the_rest_wait_for_the_next_meeting(resources):
    roster, calendar = resources.roster, resources.calendar
    with resources.warehouse() as wh:
        cases = build_mixed_agenda(Scene(wh))
        small = MeetingSettings(agenda_cases_max=3)
        first = convene(wh, roster, calendar, small, "xingguang", "regular", MEETING, AS_OF)
        unchanged = convene(wh, roster, calendar, small, "xingguang", "regular", MEETING, AS_OF)
        grown = convene(wh, roster, calendar, MeetingSettings(agenda_cases_max=5), "xingguang", "regular", MEETING,
                        AS_OF)
        agenda = load_agenda(wh, roster, first.meeting_id, AS_OF)
    names = {v: k for k, v in cases.items()}
    assert (first.items_added, first.waiting) == (3, 6)
    assert (unchanged.outcome, unchanged.items_added, unchanged.waiting) == ("unchanged", 0, 6)
    assert (grown.outcome, grown.items_added, grown.waiting) == ("updated", 2, 4)
    assert [names[i.case_id] for i in agenda.items] == [
        "escalated_high", "escalated", "urgent_needs_meeting", "needs_meeting", "overdue_high"]
    line = convened_line(first, 4, "zh-CN")
    assert "议程已满，另有 6 件待下次会议" in line
    assert "agenda full: 6 more cases wait for the next meeting" in convened_line(first, 4, "en")


def test_convening_again_adds_new_cases_or_moves_the_meeting_and_bumps_the_sequence(resources):
    roster, calendar = resources.roster, resources.calendar
    with resources.warehouse() as wh:
        scene = Scene(wh)
        first = scene.declined_by_all()
        assert convene(wh, roster, calendar, MEETINGS, "xingguang", "regular", MEETING, AS_OF).outcome == "created"
        again = convene(wh, roster, calendar, MEETINGS, "xingguang", "regular", MEETING, AS_OF)
        assert (again.outcome, again.sequence) == ("unchanged", 0)
        second = scene.declined_by_all(urgency="urgent")
        updated = convene(wh, roster, calendar, MEETINGS, "xingguang", "regular", MEETING, AS_OF)
        assert (updated.outcome, updated.sequence, updated.items_added) == ("updated", 1, 1)
        later = MEETING + timedelta(days=1)
        moved = convene(wh, roster, calendar, MEETINGS, "xingguang", "regular", later, AS_OF)
        assert (moved.meeting_id, moved.outcome, moved.sequence) == ("xingguang-2026-11", "moved", 2)
        agenda = load_agenda(wh, roster, "xingguang-2026-11", AS_OF)
    # The units have the numbered agenda: a later case is appended, even an urgent one.
    assert [i.case_id for i in agenda.items] == [first, second]
    assert agenda.starts_at == later and agenda.sequence == 2


def test_no_meeting_is_called_or_moved_to_less_than_the_minimum_notice(resources):
    with resources.warehouse() as wh:
        with pytest.raises(MeetingTooSoon, match="24"):
            convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "adhoc",
                    AS_OF + timedelta(hours=5), AS_OF)
        assert wh.scalar("SELECT count(*) FROM meetings") == 0


def test_an_adhoc_meeting_takes_the_first_office_slot_after_the_notice(resources):
    with resources.warehouse() as wh:
        Scene(wh).declined_by_all(urgency="urgent")
        # Friday 16:40 + 24 h is Saturday: the first slot is Monday 09:00.
        convened = convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "adhoc", None,
                           datetime(2026, 11, 20, 16, 40, tzinfo=SHANGHAI))
        again = convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "adhoc", None,
                        datetime(2026, 11, 20, 20, 0, tzinfo=SHANGHAI))
    assert convened.meeting_id == "xingguang-adhoc-20261123-0900"
    assert convened.starts_at == datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    assert (again.meeting_id, again.outcome) == (convened.meeting_id, "unchanged")  # the pending one is reused


def test_an_adhoc_meeting_hears_only_the_urgent_and_escalated_cases(resources):
    with resources.warehouse() as wh:
        cases = build_mixed_agenda(Scene(wh))
        convened = convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "adhoc", None, AS_OF)
        agenda = load_agenda(wh, resources.roster, convened.meeting_id, AS_OF)
    names = {v: k for k, v in cases.items()}
    assert [names[i.case_id] for i in agenda.items] == ["escalated_high", "escalated", "urgent_needs_meeting"]
    assert agenda.kind == "adhoc" and agenda.term_report is None
