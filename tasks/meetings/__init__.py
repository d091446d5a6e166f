"""Joint meetings (联席会议): Prefect tasks; the work is in the plain modules beside this file.

    chair.py      the rotating chair's term on a day
    schedule.py   regular and ad-hoc meeting times, ids, the minimum notice
    triggers.py   adhoc_meeting_needed, regular_meetings_due: what the nightly run convenes
    agenda.py     choosing and ordering the items; the agenda with every detail, masked
    proposals.py  the decision proposed for each item
    convene.py    convene (create, move, update) and cancel a meeting in the warehouse
    ics.py        the iCalendar REQUEST / CANCEL
    render.py     agenda and minutes from templates/agenda: text, HTML fragment, Markdown
    drafts.py     invitation, cancellation and minutes emails
    summary.py    a meeting's line in the run summary, the artifact keys
    minutes.py    the decisions' shape: minutes file and the flow-run input form
    decisions.py  recording decisions: assignments, events, case moves, the notices

Every task queues its emails idempotently (keys per meeting, SEQUENCE and recipient), so a task
rerun after a crash between its commit and its queueing sends what was missing and nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.mail.outbox import QueueReport, queue_drafts
from tasks.meetings.agenda import Agenda, load_agenda
from tasks.meetings.convene import Convened, Kind, cancel_meeting, convene
from tasks.meetings.decisions import (
    DecisionsInvalid,
    Recorded,
    check_minutes,
    meeting_assignment_notices,
    record_decisions,
)
from tasks.meetings.drafts import cancellation_drafts, invitation_drafts, minutes_drafts
from tasks.meetings.minutes import DecisionForm, Minutes, decision_form
from tasks.meetings.render import MeetingDocuments
from tasks.meetings.summary import artifact_key
from liandong.settings import MeetingSettings
from tasks.meetings.triggers import RegularMeetingDue, adhoc_meeting_needed, regular_meetings_due
from warehouse.store import Warehouse

# Compiled once: a new environment per meeting recompiled every template (9 s of a district night).
DOCUMENTS = MeetingDocuments()


@dataclass
class MeetingReport:
    convened: Convened
    queued: QueueReport = field(default_factory=QueueReport)


@dataclass
class DecisionReport:
    recorded: Recorded
    community_id: str
    queued: QueueReport = field(default_factory=QueueReport)


@dataclass
class MeetingsDue:
    regular: list[RegularMeetingDue]
    adhoc: list[str]  # community ids


def meetings_due(wh: Warehouse, resources: Resources, settings: Settings, as_of: datetime) -> MeetingsDue:
    """What the nightly run convenes: regular meetings whose invitations are due, and the
    communities that need an ad-hoc meeting."""
    return MeetingsDue(regular=regular_meetings_due(wh, resources.roster, resources.calendar, settings.meetings, as_of),
                       adhoc=adhoc_meeting_needed(wh, resources.roster))


@task(name="convene-meeting", cache_policy=NO_CACHE)
def convene_meeting_task(settings: Settings, meetings: MeetingSettings, community_id: str, kind: Kind,
                         starts_at: datetime | None, as_of: datetime) -> MeetingReport:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        report, agenda_md = _convene(wh, resources, settings, meetings, community_id, kind, starts_at, as_of)
    _publish_agenda(report.convened, agenda_md)
    return report


@dataclass
class ConvenedTonight:
    reports: list[MeetingReport] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # bilingual, one per meeting that could not be convened


@task(name="convene-due-meetings", cache_policy=NO_CACHE)
def convene_due_meetings_task(settings: Settings, as_of: datetime) -> ConvenedTonight:
    """The nightly run's meetings in one task, however many communities: regular meetings whose
    invitations are due and ad-hoc ones urgent cases call for (run after chasing, so tonight's
    escalations count). A meeting that cannot be convened is reported; the others go on."""
    resources, tonight = Resources(settings), ConvenedTonight()
    agendas = []
    with resources.warehouse() as wh:
        due = meetings_due(wh, resources, settings, as_of)
        calls = [(m.community_id, m.starts_at, "regular") for m in due.regular] + [(c, None, "adhoc") for c in due.adhoc]
        for community_id, starts_at, kind in calls:
            try:
                report, agenda_md = _convene(wh, resources, settings, settings.meetings, community_id, kind,
                                             starts_at, as_of)
            except Exception as exc:  # noqa: BLE001 — one community's problem must not stop the others
                tonight.failures.append(f"⚠ {community_id} {kind}: {type(exc).__name__}: {exc}")
                continue
            tonight.reports.append(report)
            agendas.append((report.convened, agenda_md))
    for convened, agenda_md in agendas:
        _publish_agenda(convened, agenda_md)
    return tonight


def _convene(wh: Warehouse, resources: Resources, settings: Settings, meetings: MeetingSettings, community_id: str,
             kind: Kind, starts_at: datetime | None, as_of: datetime) -> tuple[MeetingReport, str]:
    """Convene, and queue the invitations, in one transaction: a meeting is never left convened
    without its invitations, and a night of 50 meetings commits 50 times, not 100."""
    with wh.transaction():
        convened = convene(wh, resources.roster, resources.calendar, meetings, community_id, kind, starts_at, as_of)
        agenda = load_agenda(wh, resources.roster, convened.meeting_id, as_of)
        drafts = invitation_drafts(agenda, resources.roster, DOCUMENTS, settings.mail, as_of)
        report = MeetingReport(convened, queue_drafts(wh, resources.composer, drafts, as_of))
    return report, DOCUMENTS.agenda(agenda, settings.locale).markdown


def _publish_agenda(convened: Convened, markdown: str) -> None:
    create_markdown_artifact(markdown=markdown, key=artifact_key(convened.community_id, "agenda"),
                             description=f"联席会议议程 / joint-meeting agenda: {convened.meeting_id}")


@task(name="cancel-meeting", cache_policy=NO_CACHE)
def cancel_meeting_task(settings: Settings, meeting_id: str, reason: str, as_of: datetime) -> QueueReport:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        with wh.transaction():
            cancel_meeting(wh, meeting_id, reason, as_of)
        agenda = load_agenda(wh, resources.roster, meeting_id, as_of)
        drafts = cancellation_drafts(agenda, resources.roster, DOCUMENTS, settings.mail, reason, as_of)
        return queue_drafts(wh, resources.composer, drafts, as_of)


@task(name="prepare-decision-form", cache_policy=NO_CACHE)
def decision_form_task(settings: Settings, meeting_id: str, as_of: datetime,
                       problems: list[str]) -> type[DecisionForm] | None:
    """The input form pre-filled with the proposals, or None when the meeting is recorded already.
    `problems` (of a previous answer) head the form's description. Raises DecisionsInvalid when no
    answer could be recorded (the meeting was cancelled, or has not started): nobody is asked."""
    resources = Resources(settings)
    with resources.warehouse() as wh:
        agenda = load_agenda(wh, resources.roster, meeting_id, as_of)
    if agenda.status == "held":
        return None
    if unanswerable := check_minutes(agenda, Minutes(), as_of):
        raise DecisionsInvalid(meeting_id, unanswerable)
    lead = "".join(f"> ⚠ {p}\n>\n" for p in problems)
    markdown = DOCUMENTS.agenda(agenda, settings.locale).markdown
    return decision_form(list(agenda.units), [i.proposal for i in agenda.case_items if i.proposal],
                         f"{lead}\n{markdown}" if lead else markdown)


@task(name="check-minutes", cache_policy=NO_CACHE)
def check_minutes_task(settings: Settings, meeting_id: str, minutes: Minutes, as_of: datetime) -> list[str]:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return check_minutes(load_agenda(wh, resources.roster, meeting_id, as_of), minutes, as_of)


@task(name="record-decisions", cache_policy=NO_CACHE)
def record_decisions_task(settings: Settings, meeting_id: str, minutes: Minutes, source: str, as_of: datetime,
                          run_id: str) -> DecisionReport:
    resources = Resources(settings)
    roster = resources.roster
    with resources.warehouse() as wh:
        recorded = record_decisions(wh, roster, resources.calendar, load_agenda(wh, roster, meeting_id, as_of),
                                    minutes, source, as_of, run_id)
        agenda = load_agenda(wh, roster, meeting_id, as_of)
        drafts = meeting_assignment_notices(wh, roster, meeting_id) + minutes_drafts(agenda, roster, DOCUMENTS)
        report = DecisionReport(recorded, agenda.community_id, queue_drafts(wh, resources.composer, drafts, as_of))
    create_markdown_artifact(markdown=DOCUMENTS.minutes(agenda, settings.locale).markdown,
                             key=artifact_key(agenda.community_id, "minutes"),
                             description=f"联席会议纪要 / joint-meeting minutes: {agenda.meeting_id}")
    return report

