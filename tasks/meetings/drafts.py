"""The emails of a joint meeting, one per member unit (to all its contacts) and one for the
coordinator, through the outbox like every other notice (purpose `meeting`, so a reply of
参加 / 请假 is read as attendance):

    meeting_invitation    the agenda and an iTIP REQUEST; again, with a higher SEQUENCE, when
                          the meeting moves or its agenda grows
    meeting_cancellation  an iTIP CANCEL
    meeting_minutes       the decisions and the attendance

Template context (besides what the composer adds): `meeting` (meeting_id, community_name, kind,
starts_at: aware, link, sequence), `unit_name` (None for the coordinator), and `document_text` /
`document_html`: the agenda or the minutes rendered from templates/agenda in the recipient's
language (the HTML is escaped there already); the cancellation has `reason` instead.

Idempotency keys name the meeting, its SEQUENCE and the recipient
(`meeting:<id>:<sequence>:invitation:<unit id>|coordinator`, `meeting:<id>:minutes:…`), so a
rerun sends nothing twice and each change of the meeting reaches everyone once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cache
from typing import Any

from liandong.roster import Roster
from liandong.settings import MailSettings
from tasks.mail.compose import Draft, Recipient
from tasks.meetings.agenda import Agenda
from tasks.meetings.ics import Mailbox, MeetingEvent, meeting_calendar
from tasks.meetings.render import MeetingDocuments, Rendered
from tasks.routing.notices import recipients

SUMMARY = {"zh-CN": "{name}联席会议", "en": "{name} joint meeting"}


def invitation_drafts(agenda: Agenda, roster: Roster, documents: MeetingDocuments, mail: MailSettings,
                      as_of: datetime) -> list[Draft]:
    rendered = cache(lambda locale: documents.agenda(agenda, locale))
    calendar = meeting_calendar(_event(agenda, roster, mail, rendered), "REQUEST", as_of)
    return [_draft(agenda, f"{agenda.sequence}:invitation", "meeting_invitation", unit_id, to,
                   {**_meeting_context(agenda, unit_name), "document_text": rendered(to[0].locale).text,
                    "document_html": rendered(to[0].locale).html}, calendar)
            for unit_id, unit_name, to in _recipients(agenda, roster)]


def cancellation_drafts(agenda: Agenda, roster: Roster, documents: MeetingDocuments, mail: MailSettings,
                        reason: str, as_of: datetime) -> list[Draft]:
    rendered = cache(lambda locale: documents.agenda(agenda, locale))
    calendar = meeting_calendar(_event(agenda, roster, mail, rendered), "CANCEL", as_of)
    return [_draft(agenda, f"{agenda.sequence}:cancellation", "meeting_cancellation", unit_id, to,
                   {**_meeting_context(agenda, unit_name), "reason": reason}, calendar)
            for unit_id, unit_name, to in _recipients(agenda, roster)]


def minutes_drafts(agenda: Agenda, roster: Roster, documents: MeetingDocuments) -> list[Draft]:
    rendered = cache(lambda locale: documents.minutes(agenda, locale))
    return [_draft(agenda, "minutes", "meeting_minutes", unit_id, to,
                   {**_meeting_context(agenda, unit_name), "document_text": rendered(to[0].locale).text,
                    "document_html": rendered(to[0].locale).html})
            for unit_id, unit_name, to in _recipients(agenda, roster)]


def _recipients(agenda: Agenda, roster: Roster) -> Iterator[tuple[str | None, str | None, tuple[Recipient, ...]]]:
    """(unit id, unit name, contacts) of every member unit, then the coordinator."""
    for ref in agenda.units.values():
        to = recipients(roster.unit(ref.id))
        yield ref.id, ref.name if to[0].locale == "zh-CN" else ref.name_en, to
    coordinator = agenda.coordinator
    yield None, None, (Recipient(coordinator.name, coordinator.email, coordinator.locale),)


def _draft(agenda: Agenda, what: str, template: str, unit_id: str | None, to: tuple[Recipient, ...],
           context: dict[str, Any], calendar: str | None = None) -> Draft:
    return Draft(idempotency_key=f"meeting:{agenda.meeting_id}:{what}:{unit_id or 'coordinator'}",
                 purpose="meeting", template=template, to=to, context=context, unit_id=unit_id, calendar=calendar)


def _meeting_context(agenda: Agenda, unit_name: str | None) -> dict[str, Any]:
    return {
        "meeting": {"meeting_id": agenda.meeting_id, "community_name": agenda.community_name, "kind": agenda.kind,
                    "starts_at": agenda.starts_at, "link": agenda.link, "sequence": agenda.sequence},
        "unit_name": unit_name,
    }


def _event(agenda: Agenda, roster: Roster, mail: MailSettings, rendered: Callable[[str], Rendered]) -> MeetingEvent:
    """The calendar event, worded in the coordinator's language (one object for every recipient)."""
    locale = agenda.coordinator.locale
    return MeetingEvent(
        uid=f"{agenda.meeting_id}@{mail.reply_domain}", sequence=agenda.sequence, starts_at=agenda.starts_at,
        ends_at=agenda.ends_at, summary=SUMMARY[locale].format(name=agenda.community_name),
        description=rendered(locale).text, link=agenda.link,
        organizer=Mailbox(agenda.coordinator.name, agenda.coordinator.email), sent_by=mail.from_address,
        attendees=tuple(Mailbox(f"{c.name}（{u.name}）" if locale == "zh-CN" else f"{c.name} ({u.name_en or u.name})",
                                c.email)
                        for u in map(roster.unit, agenda.units) for c in u.contacts))

