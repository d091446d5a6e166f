"""The iCalendar object of a meeting invitation (iTIP REQUEST) or cancellation (CANCEL), as
Outlook, QQ Mail / Foxmail and phone calendars read it (notes: email.md §5):

- one stable UID per meeting (`<meeting_id>@<reply domain>`), so a moved meeting updates the
  event it created instead of adding a second one; SEQUENCE grows with every change;
- DTSTART/DTEND in Asia/Shanghai with its VTIMEZONE (some clients misplace times without one);
- the coordinator as ORGANIZER (calendar answers go to them), the platform as SENT-BY;
- one ATTENDEE per contact, asked to answer; the video link as LOCATION and URL.
Nothing about residents is in it: the description is the masked agenda.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

from liandong.clock import SHANGHAI

PRODID = "-//Liandong//Joint meetings//ZH-CN"


@dataclass(frozen=True)
class Mailbox:
    name: str
    email: str


@dataclass(frozen=True)
class MeetingEvent:
    uid: str
    sequence: int
    starts_at: datetime  # aware
    ends_at: datetime
    summary: str
    description: str
    link: str
    organizer: Mailbox
    sent_by: str  # the platform's address, which sends on the organizer's behalf
    attendees: tuple[Mailbox, ...]


def meeting_calendar(event: MeetingEvent, method: Literal["REQUEST", "CANCEL"], stamp: datetime) -> str:
    """The iCalendar text (CRLF lines) for `method`; `stamp` is when it was made (DTSTAMP)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(_vevent(event, method, stamp))
    calendar.add_missing_timezones()
    return calendar.to_ical().decode("utf-8")


def _vevent(event: MeetingEvent, method: str, stamp: datetime) -> Event:
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", stamp.astimezone(timezone.utc))
    vevent.add("sequence", event.sequence)
    vevent.add("dtstart", event.starts_at.astimezone(SHANGHAI))
    vevent.add("dtend", event.ends_at.astimezone(SHANGHAI))
    vevent.add("summary", event.summary)
    vevent.add("description", event.description)
    vevent.add("location", event.link)
    vevent.add("url", event.link)
    vevent.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    vevent.add("organizer", _address(event.organizer, sent_by=f"mailto:{event.sent_by}"))
    for attendee in event.attendees:
        vevent.add("attendee", _address(attendee, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp="TRUE"))
    return vevent


def _address(mailbox: Mailbox, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{mailbox.email}")
    address.params["cn"] = vText(mailbox.name)
    for name, value in params.items():
        address.params[name.replace("_", "-")] = value
    return address
