"""Joint meetings (联席会议), three flows:

- `convene-joint-meeting`: convene (or move, or bring up to date) a community's regular or
  ad-hoc meeting, send the invitations with the agenda and the calendar invitation;
- `record-meeting-decisions`: after the meeting, the coordinator's decisions — from a minutes
  file, or through the flow-run input form the run waits on — become assignments, notices and
  minutes;
- `cancel-joint-meeting`: cancel a meeting still to be held (calendar CANCEL to everyone).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from prefect import flow, pause_flow_run
from prefect.runtime import flow_run

from flows.naming import current_run_id, tag_run
from liandong.clock import local, resolve_as_of
from liandong.resources import Resources, writing_run
from liandong.settings import Settings, load_settings
from liandong.workdays import CalendarYearNotCovered
from tasks.mail import deliver_outbox_task
from tasks.mail.delivery import DeliveryReport
from tasks.mail.outbox import QueueReport
from tasks.meetings import (
    DecisionReport,
    MeetingReport,
    cancel_meeting_task,
    check_minutes_task,
    convene_meeting_task,
    decision_form_task,
    record_decisions_task,
)
from tasks.meetings.minutes import Minutes, load_minutes_file
from tasks.meetings.schedule import earliest_adhoc_start, earliest_start, next_regular_start, period_of
from tasks.meetings.summary import convened_line, recorded_line
from tasks.summary import mail_problems, stand_alone, write_run_summary
from tasks.summary.run import RunResults
from liandong.settings import MeetingSettings


def meeting_run_name() -> str:
    """`meeting 星光社区 2026-Q4` (or `2026-11` on a monthly cadence), `meeting 桥西社区 ad-hoc 2026-11-23`."""
    params = flow_run.parameters
    as_of, starts_at = resolve_as_of(params.get("as_of")), params.get("starts_at")
    resources = Resources(load_settings())
    try:
        community = resources.roster.community(params["community"])
    except KeyError:  # the run fails with the reason; its name still says what was asked
        return f"meeting {params['community']} {local(as_of):%Y-%m-%d}"
    adhoc, meetings, roster = params.get("kind") == "adhoc", resources.settings.meetings, resources.roster
    try:
        if starts_at:
            start = resolve_as_of(starts_at)
        elif adhoc:
            start = earliest_adhoc_start(resources.calendar, roster.policy, meetings, as_of)
        else:
            start = next_regular_start(resources.calendar, meetings, community, earliest_start(roster.policy, as_of))
    except CalendarYearNotCovered:  # the run fails with the reason
        start = as_of
    if adhoc:
        return f"meeting {community.name} ad-hoc {local(start):%Y-%m-%d}"
    return f"meeting {community.name} {period_of(community.meeting_cadence, local(start).date()).label.upper()}"


def meeting_id_run_name(what: str):
    return lambda: f"{what} {flow_run.parameters['meeting_id']}"


@flow(name="convene-joint-meeting", flow_run_name=meeting_run_name, log_prints=True)
def convene_joint_meeting(community: str, starts_at: datetime | None = None,
                          kind: Literal["regular", "adhoc"] = "regular",
                          as_of: datetime | None = None) -> tuple[MeetingReport, DeliveryReport]:
    """Convene a joint meeting and send the invitations; again to move it or add new cases.

    Args:
        community: 社区编号，即花名册 communities 中的 id（如 xingguang） / the community's id in the roster
        starts_at: 开始时间（北京时间）；留空：例会取下一个例会时间，临时会议取最早可开的时间 /
            start (Beijing time); empty: the next regular slot, or the earliest ad-hoc slot
        kind: regular 例会 | adhoc 临时会议 / regular or ad-hoc meeting
        as_of: 以此时刻运行，默认现在 / run as of this moment (default: now)
    """
    with writing_run():  # one writer slot and one warehouse connection for the whole run
        tag_run(f"community:{community}")
        settings, as_of = load_settings(), resolve_as_of(as_of)
        report = convene_meeting_task(settings, settings.meetings, community, kind, starts_at, as_of)
        delivery = deliver_outbox_task(settings, as_of)
        convened = report.convened
        print(f"meeting {convened.meeting_id} at {convened.starts_at:%Y-%m-%d %H:%M}: {convened.outcome} "
              f"(sequence {convened.sequence}, {convened.items_added} items added); "
              f"{report.queued.queued} invitations queued, {delivery.sent} emails sent")
        if stand_alone():
            line = convened_line(convened, report.queued.queued, settings.locale)
            write_run_summary(settings, "meeting", RunResults(meetings=[line], problems=mail_problems(report.queued, delivery)),
                              as_of, current_run_id())
        return report, delivery


# Persisted: the run may pause for the form for hours, and its result must survive being read back.
@flow(name="record-meeting-decisions", flow_run_name=meeting_id_run_name("decisions"), log_prints=True,
      persist_result=True)
def record_meeting_decisions(meeting_id: str, minutes_file: str | None = None,
                             as_of: datetime | None = None) -> tuple[DecisionReport, DeliveryReport]:
    """Record a held meeting's decisions: assignments, notices and the minutes.

    Args:
        meeting_id: 会议编号，见会议通知或议程（如 xingguang-2026-11） / the meeting's id, as on its agenda
        minutes_file: 会议纪要文件（YAML）的路径；留空则在本次运行中填写决定表单 /
            a minutes file (YAML); empty: the run waits for the decision form
        as_of: 以此时刻记录，默认现在 / record as of this moment (default: now)
    """
    settings = load_settings()
    if minutes_file:
        minutes, source = load_minutes_file(Path(minutes_file)), f"minutes:{Path(minutes_file).name}"
    else:
        minutes = _ask_coordinator(settings, settings.meetings, meeting_id, as_of)
        source = f"form:{flow_run.id}"
    # The decisions take effect when they are given: after the form, not when the run started.
    as_of = resolve_as_of(as_of)
    report = record_decisions_task(settings, meeting_id, minutes, source, as_of, current_run_id())
    delivery = deliver_outbox_task(settings, as_of)
    counts = report.recorded.counts
    print(f"meeting {meeting_id}: " + ("recorded before, nothing changed; " if report.recorded.already_recorded else
          f"{counts['assign']} assigned, {counts['defer']} deferred, {counts['reject']} rejected, "
          f"{counts['noted']} noted; ") + f"{report.queued.queued} emails queued, {delivery.sent} sent")
    tag_run(f"community:{report.community_id}")
    line = recorded_line(report.recorded, report.community_id, report.queued.queued, settings.locale)
    write_run_summary(settings, "decisions", RunResults(meetings=[line], problems=mail_problems(report.queued, delivery)),
                      as_of, current_run_id())
    return report, delivery


@flow(name="cancel-joint-meeting", flow_run_name=meeting_id_run_name("cancel"), log_prints=True)
def cancel_joint_meeting(meeting_id: str, reason: str = "",
                         as_of: datetime | None = None) -> tuple[QueueReport, DeliveryReport]:
    """Cancel a meeting still to be held; its cases wait for the next meeting.

    Args:
        meeting_id: 会议编号 / the meeting's id
        reason: 取消原因，写入通知 / why, for the notice
        as_of: 以此时刻运行，默认现在 / run as of this moment (default: now)
    """
    with writing_run():  # one writer slot and one warehouse connection for the whole run
        settings, as_of = load_settings(), resolve_as_of(as_of)
        queued = cancel_meeting_task(settings, meeting_id, reason, as_of)
        delivery = deliver_outbox_task(settings, as_of)
        zh = settings.locale == "zh-CN"
        line = (f"{meeting_id}：已取消，取消通知 {queued.queued} 封；议题留待下次会议" if zh else
                f"{meeting_id}: cancelled, {queued.queued} cancellations queued; its items wait for the next meeting")
        write_run_summary(settings, "cancel", RunResults(meetings=[line], problems=mail_problems(queued, delivery)),
                          as_of, current_run_id())
        return queued, delivery


def _ask_coordinator(settings: Settings, meetings: MeetingSettings, meeting_id: str,
                     as_of: datetime | None) -> Minutes:
    """Waits for the decision form until its answer can be recorded; a faulty answer is asked
    again with the problems on top. A meeting recorded already is not asked about."""
    problems: list[str] = []
    while True:
        form = decision_form_task(settings, meeting_id, resolve_as_of(as_of), problems)
        if form is None:
            return Minutes(meeting_id=meeting_id)
        answer = pause_flow_run(wait_for_input=form, timeout=meetings.decision_wait_hours * 3600,
                                poll_interval=meetings.decision_poll_seconds)
        minutes = answer.minutes(meeting_id)
        problems = check_minutes_task(settings, meeting_id, minutes, resolve_as_of(as_of))
        if not problems:
            return minutes
        print("the decisions cannot be recorded, asking again: " + "; ".join(problems))
