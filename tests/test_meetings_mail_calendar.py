"""The mail composer's optional calendar part (Draft.calendar), added for meeting invitations:
the shape calendar services send, and no change at all to messages without one."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from tasks.mail import mime
from tasks.mail.compose import Composer, Draft
from tests.support.mail import AS_OF, MAIL, assignment_drafts

ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//x//ZH\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\n"
       "UID:m-1@reply.xingguang.example.cn\r\nSUMMARY:星光社区联席会议\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def with_calendar(calendar: str | None) -> Draft:
    lead, _ = assignment_drafts()
    return Draft(**{**lead.__dict__, "calendar": calendar})


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_a_calendar_travels_as_an_alternative_and_as_invite_ics(method):
    ics = ICS.format(method=method)
    message = message_from_bytes(Composer(MAIL).compose(with_calendar(ics), AS_OF).raw, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html", "text/calendar"]
    calendar = alternative.get_payload()[2]
    assert calendar.get_param("method") == method and calendar.get_content_charset() == "utf-8"
    assert calendar.get_content() == ics
    assert (attachment.get_content_type(), attachment.get_filename()) == ("application/ics", "invite.ics")
    assert attachment.get_content() == ics.encode()
    # The readable parts are the notice's, as without a calendar.
    assert "牵头" in message.get_body(("plain",)).get_content()
    assert message.get_body(("html",)).get_content().startswith("<!DOCTYPE html>")


def test_without_a_calendar_the_message_keeps_its_two_part_shape():
    plain = Composer(MAIL).compose(with_calendar(None), AS_OF).raw
    message = message_from_bytes(plain, policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.get_payload()] == ["text/plain", "text/html"]
    assert b"calendar" not in plain and b"multipart/mixed" not in plain


def test_a_calendar_without_a_method_is_refused():
    with pytest.raises(ValueError, match="METHOD"):
        Composer(MAIL).compose(with_calendar(ICS.replace("METHOD:{method}\r\n", "")), AS_OF)
    assert mime.calendar_method(ICS.format(method="REQUEST")) == "REQUEST"
