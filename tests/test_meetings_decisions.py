"""Recording a meeting's decisions from a minutes file: assignments as routing makes them, the
notices and the minutes in the outbox, events "decided at meeting M"; faulty minutes refused;
the next agenda follows the decisions up. And when the nightly run should call a meeting."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from liandong.clock import SHANGHAI, naive_utc
from tasks.mail.outbox import queue_drafts
from tasks.meetings.agenda import load_agenda
from tasks.meetings.convene import convene
from tasks.meetings.decisions import DecisionsInvalid, meeting_assignment_notices, record_decisions
from tasks.meetings.drafts import minutes_drafts
from tasks.meetings.minutes import Minutes, MinutesFileInvalid, load_minutes_file
from tasks.meetings.render import MeetingDocuments
from tasks.meetings.triggers import adhoc_meeting_needed, regular_meetings_due
from tests.test_meetings_agenda import AS_OF, MEETING, MEETINGS, PHONE, REPORTER, Scene, resources  # noqa: F401

AFTER = MEETING + timedelta(hours=3)


def minutes_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "minutes.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def held(resources, minutes: Minutes):  # noqa: F811
    """The meeting's decisions recorded, and its notices and minutes queued as the flow does."""
    roster = resources.roster
    with resources.warehouse() as wh:
        agenda = load_agenda(wh, roster, "xingguang-2026-11", AFTER)
        recorded = record_decisions(wh, roster, resources.calendar, agenda, minutes, "minutes:test.yaml", AFTER, "run")
        agenda = load_agenda(wh, roster, "xingguang-2026-11", AFTER)
        drafts = meeting_assignment_notices(wh, roster, agenda.meeting_id) + minutes_drafts(agenda, roster,
                                                                                          MeetingDocuments())
        queued = queue_drafts(wh, resources.composer, drafts, AFTER)
    return recorded, queued, agenda


@pytest.fixture
def four_cases(resources):  # noqa: F811
    with resources.warehouse() as wh:
        scene = Scene(wh)
        cases = {"refused": scene.declined_by_all(), "overdue": scene.case(lead="pcs-xg", due_in_days=-2),
                 "out_of_scope": scene.declined_by_all(title="邻里遗产纠纷"), "left": scene.declined_by_all()}
        scene.assignment(cases["overdue"], "pcs-xg")
        scene.assignment(cases["overdue"], "eco-bureau", role="support")
        convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "regular", MEETING, AS_OF)
    return cases


def test_a_minutes_file_becomes_assignments_notices_events_and_minutes(resources, four_cases, tmp_path):  # noqa: F811
    c = four_cases
    minutes = load_minutes_file(minutes_file(tmp_path, f"""
meeting_id: xingguang-2026-11
present_units: [pcs-xg, urban-mgmt, hospital]
decisions:
  - {{case_id: {c['refused']}, decision: assign, lead_unit: urban-mgmt, support_units: [hospital],
     due_date: 2026-12-10, reason: 城管牵头清理}}
  - {{case_id: {c['overdue']}, decision: assign, lead_unit: pcs-xg, support_units: [urban-mgmt]}}
  - {{case_id: {c['out_of_scope']}, decision: reject, reason: 属于司法诉讼事项}}
"""))
    recorded, queued, agenda = held(resources, minutes)
    assert recorded.counts == {"assign": 2, "defer": 1, "reject": 1, "noted": 0}
    with resources.warehouse() as wh:
        assignments = wh.rows("SELECT assignment_id, case_id, unit_id, role, state, due_at FROM assignments "
                              "ORDER BY case_id, assignment_id")
        cases = {r["case_id"]: r for r in wh.rows("SELECT case_id, status, status_reason, lead_unit_id, due_at "
                                                  "FROM cases")}
        events = wh.rows("SELECT case_id, kind, actor, unit_id, to_status FROM case_events "
                         "WHERE actor LIKE 'meeting:%' ORDER BY event_id")
        meeting = wh.rows("SELECT status, held_at, attendance, decisions_source FROM meetings")[0]
        keys = {r[0] for r in wh.execute("SELECT idempotency_key FROM messages").fetchall()}
        raw = {r[0]: r[1] for r in wh.execute("SELECT idempotency_key, raw FROM messages").fetchall()}
    new = [(a["case_id"], a["unit_id"], a["role"], a["state"]) for a in assignments if a["state"] == "notified"]
    assert new == [(c["refused"], "urban-mgmt", "lead", "notified"), (c["refused"], "hospital", "support", "notified"),
                   (c["overdue"], "pcs-xg", "lead", "notified"), (c["overdue"], "urban-mgmt", "support", "notified")]
    # The live assignments of the overdue case were replaced; the refused ones stay as history.
    assert {(a["unit_id"], a["state"]) for a in assignments if a["case_id"] == c["overdue"]} == {
        ("pcs-xg", "superseded"), ("eco-bureau", "superseded"), ("pcs-xg", "notified"), ("urban-mgmt", "notified")}
    due = naive_utc(datetime(2026, 12, 10, 23, 59, 59, tzinfo=SHANGHAI))
    assert cases[c["refused"]] == {"case_id": c["refused"], "status": "assigned", "status_reason": None,
                                        "lead_unit_id": "urban-mgmt", "due_at": due}
    # No deadline given: the policy's, 10 working days from the decision.
    assert cases[c["overdue"]]["due_at"] == naive_utc(datetime(2026, 12, 8, 23, 59, 59, tzinfo=SHANGHAI))
    assert (cases[c["out_of_scope"]]["status"], cases[c["out_of_scope"]]["status_reason"]) == ("rejected",
                                                                                                "属于司法诉讼事项")
    assert cases[c["left"]]["status"] == "needs_meeting"
    assert {(e["case_id"], e["kind"]) for e in events} >= {
        (c["refused"], "meeting_decided"), (c["refused"], "assigned"), (c["refused"], "support_assigned"),
        (c["overdue"], "superseded"), (c["out_of_scope"], "meeting_rejected"), (c["left"], "meeting_deferred")}
    assert {e["actor"] for e in events} == {"meeting:xingguang-2026-11"}
    assert meeting["status"] == "held" and meeting["held_at"] == naive_utc(AFTER)
    assert json.loads(meeting["attendance"]) == {"present": ["pcs-xg", "urban-mgmt", "hospital"],
                                                 "absent": ["eco-bureau"]}
    assert meeting["decisions_source"] == "minutes:test.yaml"
    notices = {k for k in keys if k.startswith("assignment:")}
    assert notices == {f"assignment:{a['assignment_id']}" for a in assignments if a["state"] == "notified"}
    assert {k for k in keys if ":minutes:" in k} == {f"meeting:xingguang-2026-11:minutes:{u}" for u in
                                                    ("pcs-xg", "eco-bureau", "urban-mgmt", "hospital", "coordinator")}
    assert queued.queued == len(keys) and not queued.rejected
    lead_notice = message_from_bytes(raw[f"assignment:{c['refused']}/3"], policy=policy.default)
    lead_text = lead_notice.get_body(("plain",)).get_content()
    assert "城管执法中队为以下诉求的牵头单位" in lead_text and "协办单位：社区卫生服务中心" in lead_text
    minutes_text = message_from_bytes(raw["meeting:xingguang-2026-11:minutes:hospital"],
                                      policy=policy.default).get_body(("plain",)).get_content()
    assert "交办：城管执法中队牵头，社区卫生服务中心协办，2026年12月10日前办结（城管牵头清理）" in minutes_text
    assert "不予受理（属于司法诉讼事项）" in minutes_text and "缺席单位：生态环境分局" in minutes_text
    assert REPORTER not in minutes_text and PHONE not in minutes_text
    assert [i.decision.decision for i in agenda.items] == ["assign", "reject", "defer", "assign"]


def test_recording_again_changes_and_sends_nothing(resources, four_cases):  # noqa: F811
    _, first, _ = held(resources, Minutes(decisions=[]))
    again, queued, _ = held(resources, Minutes(decisions=[]))
    assert first.queued == 5 and again.already_recorded and queued.queued == 0


def test_faulty_minutes_are_refused_with_every_problem(resources, four_cases, tmp_path):  # noqa: F811
    c = four_cases
    minutes = Minutes.model_validate({"meeting_id": "xingguang-2026-11", "present_units": ["acme"], "decisions": [
        {"case_id": c["refused"], "decision": "assign", "lead_unit": "acme"},
        {"case_id": c["overdue"], "decision": "assign", "support_units": ["pcs-xg"]},
        {"case_id": c["out_of_scope"], "decision": "reject"},
        {"case_id": "LD-2026-999999", "decision": "defer"},
        {"case_id": c["left"], "decision": "assign", "lead_unit": "pcs-xg", "support_units": ["pcs-xg"],
         "due_date": "2026-11-01"}]})
    with resources.warehouse() as wh:
        agenda = load_agenda(wh, resources.roster, "xingguang-2026-11", AS_OF)
        with pytest.raises(DecisionsInvalid) as refused:
            record_decisions(wh, resources.roster, resources.calendar, agenda, minutes, "minutes:x", AS_OF, "run")
        assert wh.scalar("SELECT status FROM meetings") == "scheduled"
        assert wh.scalar("SELECT count(*) FROM case_events WHERE actor LIKE 'meeting:%'") == 0
    problems = "\n".join(refused.value.problems)
    for expected in ("the meeting has not started", "acme is not a member unit", "needs a lead unit",
                     "a rejection needs a reason", "LD-2026-999999: 不在本次议程上", "cannot also support",
                     "is before the meeting"):
        assert expected in problems
    with pytest.raises(MinutesFileInvalid, match="decisions.0.decision"):
        load_minutes_file(minutes_file(tmp_path, f"decisions: [{{case_id: {c['left']}, decision: maybe}}]"))


def test_the_next_agenda_follows_up_the_decisions(resources, four_cases):  # noqa: F811
    c = four_cases
    held(resources, Minutes(decisions=[{"case_id": c["refused"], "decision": "assign", "lead_unit": "urban-mgmt"}]))
    december = datetime(2026, 12, 29, 14, 30, tzinfo=SHANGHAI)
    with resources.warehouse() as wh:
        convened = convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "regular", december,
                           AFTER)
        agenda = load_agenda(wh, resources.roster, convened.meeting_id, AFTER)
    kinds = {i.case_id: i.kind for i in agenda.case_items}
    # Deferred cases come back as they were; the assignment is followed up.
    assert kinds == {c["left"]: "needs_meeting", c["out_of_scope"]: "needs_meeting", c["overdue"]: "overdue",
                     c["refused"]: "action_item"}
    followed_up = next(i for i in agenda.items if i.case_id == c["refused"])
    assert "meeting_decided" in [e["kind"] for e in followed_up.timeline]


def test_an_adhoc_meeting_is_needed_for_urgent_cases_no_unit_took_or_escalated(resources):  # noqa: F811
    roster = resources.roster
    with resources.warehouse() as wh:
        scene = Scene(wh)
        scene.declined_by_all()  # not urgent: waits for the regular meeting
        assert adhoc_meeting_needed(wh, roster) == []
        refused = scene.declined_by_all(urgency="urgent")
        escalated = scene.case(community="donghu", status="in_progress", urgency="urgent", lead="pcs-xg")
        scene.event(escalated, "escalated", 1, unit="pcs-xg")
        extended = scene.case(status="in_progress", urgency="urgent", lead="pcs-xg")
        scene.event(extended, "escalated", 2, unit="pcs-xg")
        scene.event(extended, "extension_granted", 1, unit="pcs-xg")
        assert adhoc_meeting_needed(wh, roster) == ["donghu", "xingguang"]
        convened = convene(wh, roster, resources.calendar, MEETINGS, "xingguang", "adhoc", None, AS_OF)
        assert adhoc_meeting_needed(wh, roster) == ["donghu"]  # on a meeting still to be held
        agenda = load_agenda(wh, roster, convened.meeting_id, AS_OF)
        later = agenda.starts_at + timedelta(hours=2)
        record_decisions(wh, roster, resources.calendar, agenda,
                         Minutes(decisions=[{"case_id": refused, "decision": "defer"}]), "minutes:x", later, "run")
        assert adhoc_meeting_needed(wh, roster) == ["donghu"]  # heard and deferred: the next regular meeting
        scene.event(refused, "needs_meeting", -5)  # refused again after a later assignment
        assert adhoc_meeting_needed(wh, roster) == ["donghu", "xingguang"]


def test_regular_meetings_are_due_within_their_invitation_window(resources):  # noqa: F811
    roster, calendar = resources.roster, resources.calendar
    with resources.warehouse() as wh:
        # 星光 meets monthly, on Thursday 26 November; invitations go out 5 working days before.
        # 东湖 meets quarterly, on 29 December: not yet.
        assert regular_meetings_due(wh, roster, calendar, MEETINGS, datetime(2026, 11, 18, 9, tzinfo=SHANGHAI)) == []
        due = regular_meetings_due(wh, roster, calendar, MEETINGS, datetime(2026, 11, 19, 9, tzinfo=SHANGHAI))
        assert [(d.community_id, d.meeting_id, d.starts_at.date()) for d in due] == [
            ("xingguang", "xingguang-2026-11", date(2026, 11, 26))]
        convene(wh, roster, calendar, MEETINGS, "xingguang", "regular", due[0].starts_at, AS_OF)
        assert regular_meetings_due(wh, roster, calendar, MEETINGS, AS_OF) == []
        # January's meetings need 2027's holidays, unknown yet: no meeting is due, and nothing fails.
        assert regular_meetings_due(wh, roster, calendar, MEETINGS, datetime(2026, 12, 30, 9, tzinfo=SHANGHAI)) == []


def test_the_demo_secretary_files_minutes_of_what_was_on_the_agenda(resources, four_cases, settings):  # noqa: F811
    """`make demo` records its meetings from minutes files written from the agendas it convened."""
    from demo.minutes import held_meetings, write_minutes

    assert held_meetings(settings, MEETING - timedelta(minutes=1)) == []  # not started: nothing to file
    assert held_meetings(settings, AFTER) == ["xingguang-2026-11"]
    path = write_minutes(settings, "xingguang-2026-11", AFTER)
    minutes = load_minutes_file(path)
    with resources.warehouse() as wh:
        agenda = load_agenda(wh, resources.roster, "xingguang-2026-11", AFTER)
    assert {d.case_id for d in minutes.decisions} == {i.case_id for i in agenda.case_items}
    assert {d.case_id: d.decision for d in minutes.decisions} == {i.case_id: i.proposal.decision for i in agenda.case_items}
    recorded, _, _ = held(resources, minutes)
    assert not recorded.already_recorded and sum(recorded.counts.values()) == len(agenda.case_items)
    assert held_meetings(settings, AFTER) == []  # held now
