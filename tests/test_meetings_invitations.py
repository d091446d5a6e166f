"""Invitations: the .ics parses with the iCalendar library and holds what calendars need; moving
a meeting bumps its SEQUENCE, cancelling sends METHOD:CANCEL; and a real SMTP server on loopback
receives one invitation per member unit and one for the coordinator, each with its calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes, policy

from icalendar import Calendar

from liandong.clock import SHANGHAI
from tasks.mail.outbox import deliver_due, queue_drafts
from tasks.mail.transport import SmtpTransport
from tasks.meetings.agenda import load_agenda
from tasks.meetings.convene import cancel_meeting, convene
from tasks.meetings.drafts import cancellation_drafts, invitation_drafts
from tasks.meetings.render import MeetingDocuments
from tests.support.smtp_server import smtp_server
from tests.test_meetings_agenda import AS_OF, MEETING, MEETINGS, PHONE, REPORTER, Scene, resources  # noqa: F401

XINGGUANG_CONTACTS = {"wang@pcs.example.cn", "chen@eco.example.cn", "liu@urban.example.cn", "zhou@urban.example.cn",
                      "sun@hospital.example.cn"}
COORDINATOR = "li.secretary@xingguang.example.cn"


def invitations(resources, starts_at=MEETING, as_of=AS_OF):  # noqa: F811
    with resources.warehouse() as wh:
        convened = convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "regular", starts_at, as_of)
        agenda = load_agenda(wh, resources.roster, convened.meeting_id, as_of)
    return invitation_drafts(agenda, resources.roster, MeetingDocuments(), resources.settings.mail, as_of)


def event_of(ics: str):
    calendar = Calendar.from_ical(ics)
    return calendar, calendar.walk("VEVENT")[0]


def test_the_invitation_parses_and_holds_what_calendars_need(resources):  # noqa: F811
    with resources.warehouse() as wh:
        Scene(wh).declined_by_all()
    drafts = invitations(resources)
    assert len({d.calendar for d in drafts}) == 1  # one calendar object for every recipient
    calendar, event = event_of(drafts[0].calendar)
    assert (calendar["METHOD"], calendar["VERSION"]) == ("REQUEST", "2.0")
    assert str(event["UID"]) == "xingguang-2026-11@community.example.cn"
    assert event["DTSTAMP"].dt == AS_OF
    assert event["SEQUENCE"] == 0 and event["STATUS"] == "CONFIRMED"
    assert event["DTSTART"].dt == MEETING and event["DTEND"].dt == MEETING + timedelta(minutes=90)
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    organizer = event["ORGANIZER"]
    assert str(organizer) == f"mailto:{COORDINATOR}" and organizer.params["CN"] == "李书记"
    assert organizer.params["SENT-BY"] == "mailto:liandong@community.example.cn"
    attendees = event["ATTENDEE"]
    assert {str(a).removeprefix("mailto:") for a in attendees} == XINGGUANG_CONTACTS
    assert all(a.params["RSVP"] == "TRUE" and a.params["PARTSTAT"] == "NEEDS-ACTION" for a in attendees)
    assert "刘队长（城管执法中队）" in {a.params["CN"] for a in attendees}
    link = "https://meeting.example.cn/liandong/xingguang/xingguang-2026-11"
    assert str(event["LOCATION"]) == link and str(event["URL"]) == link
    description = str(event["DESCRIPTION"])
    assert "LD-2026-000001" in description and REPORTER not in description and PHONE not in description


def test_a_moved_meeting_keeps_its_uid_with_a_higher_sequence_and_a_cancellation_says_cancel(resources):  # noqa: F811
    first = event_of(invitations(resources)[0].calendar)[1]
    moved_drafts = invitations(resources, starts_at=MEETING + timedelta(hours=1))
    moved = event_of(moved_drafts[0].calendar)[1]
    assert moved["UID"] == first["UID"] and moved["SEQUENCE"] == 1
    assert moved["DTSTART"].dt == MEETING + timedelta(hours=1)
    assert {d.idempotency_key for d in moved_drafts} == {
        f"meeting:xingguang-2026-11:1:invitation:{u}" for u in ("pcs-xg", "eco-bureau", "urban-mgmt", "hospital",
                                                                 "coordinator")}
    with resources.warehouse() as wh:
        with wh.transaction():
            cancel_meeting(wh, "xingguang-2026-11", "台风停课", AS_OF)
        agenda = load_agenda(wh, resources.roster, "xingguang-2026-11", AS_OF)
    drafts = cancellation_drafts(agenda, resources.roster, MeetingDocuments(), resources.settings.mail, "台风停课",
                                 AS_OF)
    calendar, cancelled = event_of(drafts[0].calendar)
    assert calendar["METHOD"] == "CANCEL" and cancelled["STATUS"] == "CANCELLED"
    assert cancelled["UID"] == first["UID"] and cancelled["SEQUENCE"] == 2


def test_the_smtp_server_receives_every_invitation_with_its_calendar(resources):  # noqa: F811
    with resources.warehouse() as wh:
        Scene(wh).declined_by_all()
    drafts = invitations(resources)
    with smtp_server() as server, resources.warehouse() as wh:
        queued = queue_drafts(wh, resources.composer, drafts, AS_OF)
        report = deliver_due(wh, SmtpTransport(server.host, server.port, connections=2, timeout=5), AS_OF)
        received = server.handler.messages()
    assert (queued.queued, report.sent, report.failed_temporary, report.failed_permanent) == (5, 5, 0, 0)
    assert {rcpt for r in received for rcpt in r.rcpt_tos} == XINGGUANG_CONTACTS | {COORDINATOR}
    for r in received:
        message = r.message()
        assert message.get_content_type() == "multipart/mixed"
        assert message["Subject"].startswith("联席会议通知：星光社区 2026年11月24日 14:30")
        parts = {part.get_content_type(): part for part in message.walk()}
        calendar_part = parts["text/calendar"]
        assert calendar_part.get_param("method") == "REQUEST"
        attachment = parts["application/ics"]
        assert attachment.get_filename() == "invite.ics"
        assert attachment.get_content() == calendar_part.get_content().encode()
        assert str(event_of(calendar_part.get_content())[1]["UID"]) == "xingguang-2026-11@community.example.cn"
        text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
        for body in (text, html):
            assert "LD-2026-000001" in body and REPORTER not in body and PHONE not in body
        assert "参加" in text and 'href="https://meeting.example.cn/liandong/xingguang/xingguang-2026-11"' in html
    urban = next(r for r in received if "liu@urban.example.cn" in r.rcpt_tos)
    assert set(urban.rcpt_tos) == {"liu@urban.example.cn", "zhou@urban.example.cn"}  # one message per unit
    assert "请城管执法中队派员参加" in urban.message().get_body(("plain",)).get_content()


def test_an_ad_hoc_invitation_in_english_for_english_contacts(resources):  # noqa: F811
    with resources.warehouse() as wh:
        Scene(wh).declined_by_all(community="donghu", urgency="urgent")
        convened = convene(wh, resources.roster, resources.calendar, MEETINGS, "donghu", "adhoc", None, AS_OF)
        agenda = load_agenda(wh, resources.roster, convened.meeting_id, AS_OF)
        drafts = invitation_drafts(agenda, resources.roster, MeetingDocuments(), resources.settings.mail, AS_OF)
        queue_drafts(wh, resources.composer, drafts, AS_OF)
        raw = wh.scalar("SELECT raw FROM messages WHERE idempotency_key LIKE '%:acme'")
    assert convened.meeting_id == "donghu-adhoc-20261123-0900"  # Friday 09:00 + 24 h is Saturday
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "Joint meeting: 东湖社区, 2026-11-23 09:00 (Beijing time)"
    text = message.get_body(("plain",)).get_content()
    assert "Please send a representative of ACME Technology" in text and "[no unit would take it]" in text
    _, event = event_of(next(p for p in message.walk() if p.get_content_type() == "text/calendar").get_content())
    assert event["DTSTART"].dt == datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    assert str(event["SUMMARY"]) == "东湖社区 joint meeting"  # the coordinator reads English
