"""The meeting flows under Prefect's test harness: convening writes the agenda artifact and sends
the invitations; decisions given through the flow-run input form, sent with the Prefect client
while the run waits paused, become assignments and notices, and the minutes go out."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from uuid import UUID

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.input import keyset_from_paused_state

from flows.convene_joint_meeting import cancel_joint_meeting, convene_joint_meeting, record_meeting_decisions
from liandong.resources import Resources
from liandong.settings import Settings
from tasks.meetings import MeetingsDue, convene_due_meetings_task, meetings_due
from tests.test_meetings_agenda import AS_OF, MEETING, REPORTER, Scene

pytestmark = pytest.mark.prefect
AFTER = MEETING + timedelta(hours=3)


def due_now(settings: Settings) -> MeetingsDue:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return meetings_due(wh, resources, settings, AS_OF)


def paused_run(previous: set[UUID], timeout: float = 60):
    """The record-meeting-decisions run that is paused now and was not paused before."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=["record-meeting-decisions"])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.PAUSED]))))
            fresh = [r for r in runs if (r.id, r.state.state_details.pause_key) not in previous]
            if fresh:
                return fresh[0]
            time.sleep(0.2)
    raise AssertionError("the run never paused for the decisions")


def test_convening_under_prefect_sends_invitations_and_publishes_the_agenda(prefect_harness, settings: Settings):
    with Resources(settings).warehouse() as wh:
        Scene(wh).declined_by_all(urgency="urgent")
    due = due_now(settings)  # what the nightly run would convene
    assert ([d.meeting_id for d in due.regular], due.adhoc) == (["xingguang-2026-11"], ["xingguang"])
    state = convene_joint_meeting("xingguang", starts_at=MEETING, kind="regular", as_of=AS_OF, return_state=True)
    assert state.is_completed(), state.message
    report, delivery = state.result()
    assert (report.convened.meeting_id, report.queued.queued, delivery.sent) == ("xingguang-2026-11", 5, 5)
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    (agenda,) = [a for a in artifacts if a.key == "joint-meeting-agenda-xingguang"]
    assert "LD-2026-000001" in agenda.data and REPORTER not in agenda.data
    (summary,) = [a for a in artifacts if a.key == "meeting-summary"]  # what happened, for the coordinator
    assert summary.data.startswith("# 联席会议 ") and "xingguang-2026-11：已召集" in summary.data
    assert "邀请邮件 5 封" in summary.data and "joint-meeting-agenda-xingguang" in summary.data  # the agenda's link
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        assert run.name == "meeting 星光社区 2026-11" and "community:xingguang" in run.tags
    assert len(list((settings.outbox_folder / "new").iterdir())) == 5
    assert due_now(settings) == MeetingsDue(regular=[], adhoc=[])  # convened: on its agenda

    cancelled = cancel_joint_meeting("xingguang-2026-11", reason="台风", as_of=AS_OF, return_state=True)
    assert cancelled.is_completed() and cancelled.result()[0].queued == 5
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(cancelled.state_details.flow_run_id).name == "cancel xingguang-2026-11"
        (summary,) = [a for a in client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(
            any_=[cancelled.state_details.flow_run_id]))) if a.key == "cancel-summary"]
    assert "xingguang-2026-11：已取消，取消通知 5 封" in summary.data
    adhoc = convene_joint_meeting("xingguang", kind="adhoc", as_of=AS_OF, return_state=True)
    with get_client(sync_client=True) as client:  # named after the day it is held, not the day it was called
        assert client.read_flow_run(adhoc.state_details.flow_run_id).name == "meeting 星光社区 ad-hoc 2026-11-23"


def test_the_nightly_run_convenes_every_due_meeting_in_one_task(prefect_harness, settings: Settings):
    with Resources(settings).warehouse() as wh:
        Scene(wh).declined_by_all(urgency="urgent")
    tonight = flow(name="meetings-stage")(lambda: convene_due_meetings_task(settings, AS_OF))()
    assert tonight.failures == []
    assert [(r.convened.meeting_id, r.convened.outcome, r.queued.queued) for r in tonight.reports] == [
        ("xingguang-2026-11", "created", 5), ("xingguang-adhoc-20261123-0900", "created", 5)]
    assert due_now(settings) == MeetingsDue(regular=[], adhoc=[])


def test_decisions_through_the_flow_run_input_become_assignments_and_notices(prefect_harness, settings: Settings,
                                                                             monkeypatch):
    monkeypatch.setenv("LIANDONG_MEETINGS__DECISION_POLL_SECONDS", "1")
    with Resources(settings).warehouse() as wh:
        case_id = Scene(wh).declined_by_all()
    assert convene_joint_meeting("xingguang", starts_at=MEETING, as_of=AS_OF, return_state=True).is_completed()

    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(state=record_meeting_decisions(
        "xingguang-2026-11", as_of=AFTER, return_state=True)))
    runner.start()
    run = paused_run(set())
    with get_client(sync_client=True) as client:
        keyset = keyset_from_paused_state(run.state)
        assert "LD-2026-000001" in client.read_flow_run_input(run.id, keyset["description"])  # the agenda
        # The form only offers the community's units: the server refuses any other.
        refused = client.resume_flow_run(run.id, run_input={
            "present_units": ["acme"], "decisions": []})
        assert refused.status == SetStateStatus.REJECT
        # A reasonless rejection passes the form but not the rules: the run asks again, saying why.
        client.resume_flow_run(run.id, run_input={
            "present_units": ["pcs-xg"], "decisions": [{"case_id": case_id, "decision": "reject"}]})
        again = paused_run({(run.id, run.state.state_details.pause_key)})
        assert "a rejection needs a reason" in client.read_flow_run_input(
            again.id, keyset_from_paused_state(again.state)["description"])
        accepted = client.resume_flow_run(again.id, run_input={
            "present_units": ["pcs-xg", "urban-mgmt", "hospital"],
            "decisions": [{"case_id": case_id, "decision": "assign", "lead_unit": "urban-mgmt",
                           "support_units": ["hospital"], "due_date": "2026-12-10"}]})
        assert accepted.status == SetStateStatus.ACCEPT
    runner.join(120)
    state = outcome["state"]
    assert state.is_completed(), state.message
    report, delivery = state.result()
    assert report.recorded.counts["assign"] == 1 and delivery.sent == report.queued.queued == 7

    with Resources(settings).warehouse() as wh:
        new = wh.rows("SELECT assignment_id, unit_id, role FROM assignments WHERE state = 'notified' ORDER BY 1")
        keys = {r[0] for r in wh.execute("SELECT idempotency_key FROM messages WHERE state = 'sent'").fetchall()}
        source = wh.scalar("SELECT decisions_source FROM meetings")
    assert [(a["unit_id"], a["role"]) for a in new] == [("urban-mgmt", "lead"), ("hospital", "support")]
    assert {f"assignment:{a['assignment_id']}" for a in new} <= keys
    assert sum(":minutes:" in k for k in keys) == 5
    assert source == f"form:{run.id}"
