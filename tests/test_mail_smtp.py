"""End to end against a real aiosmtpd server on loopback: what the server receives."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest

from tasks.mail.compose import Composer, Draft, Recipient
from tasks.mail.outbox import deliver_due, queue_drafts, send_drafts
from tasks.mail.tokens import read_reply_token
from tasks.mail.transport import SmtpTransport
from tests.support.mail import (
    AS_OF,
    MAIL,
    SECRET,
    assignment_drafts,
    claim_list,
    parts,
    simple_drafts,
)
from tests.support.smtp_server import (
    Received,
    RunningServer,
    password_authenticator,
    smtp_server,
    tls_contexts,
)
from warehouse.store import Warehouse, open_warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    with open_warehouse(tmp_path / "warehouse.duckdb") as wh:
        yield wh


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with smtp_server() as running:
        yield running


def transport_to(server: RunningServer, **options) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, **{"connections": 2, "timeout": 5, **options})


def by_recipient(received: list[Received]) -> dict[str, Received]:
    return {r.rcpt_tos[0]: r for r in received}


def test_the_server_receives_each_notice_as_the_contract_says(warehouse, server):
    lead, support = assignment_drafts()
    queued, report = send_drafts(warehouse, Composer(MAIL), transport_to(server), [lead, support, claim_list()], AS_OF)
    assert (queued.queued, report.sent, report.failed_temporary, report.failed_permanent) == (3, 3, 0, 0)

    received = server.handler.messages()
    assert sorted(r.rcpt_tos for r in received) == [("chen@eco.example.cn",), ("chen@eco.example.cn",),
                                                     ("wang@pcs.example.cn",)]
    assert {r.mail_from for r in received} == {"liandong@xingguang.example.cn"}
    rows = {r["message_id"]: r for r in warehouse.rows("SELECT * FROM messages")}
    for r in received:
        message = r.message()
        row = rows[r.message_id]
        assert row["state"] == "sent" and row["sent_at"] == AS_OF and row["attempts"] == 1
        assert row["raw"] == r.data, "the bytes recorded before sending are the bytes sent"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["X-Auto-Response-Suppress"] == "All"
        assert message["From"].addresses[0].display_name == "星光社区联动平台"
        text, html = parts(message)
        assert text.strip() and html.lstrip().startswith("<!DOCTYPE html>")


def test_subject_tag_and_decoded_chinese_subject(warehouse, server):
    lead, _ = assignment_drafts()
    send_drafts(warehouse, Composer(MAIL), transport_to(server), [lead], AS_OF)
    (received,) = server.handler.messages()
    assert b"=?utf-8?b?" in received.data.split(b"\r\n\r\n")[0], "RFC 2047 on the wire"
    subject = received.message()["Subject"]
    assert subject == ("[LD-2026-000123] 新诉求交办（牵头）：占道经营 Bcc: evil@attacker.example "
                       "To: evil2@attacker.example")
    assert received.message()["To"].addresses[0].display_name == "王警官"


def test_reply_token_verifies_and_a_tampered_one_does_not(warehouse, server):
    lead, support = assignment_drafts()
    send_drafts(warehouse, Composer(MAIL), transport_to(server), [lead, support], AS_OF)
    for draft in (lead, support):
        received = by_recipient(server.handler.messages())[draft.to[0].email]
        reply_to = received.message()["Reply-To"].addresses[0].addr_spec
        assert re.fullmatch(r"reply\+[a-z2-7]{39}@reply\.xingguang\.example\.cn", reply_to)
        claims = read_reply_token(SECRET, reply_to)
        assert (claims.purpose, claims.case_id, claims.assignment_id) == \
            ("assignment", "LD-2026-000123", draft.assignment_id)
        assert claims.is_for_unit(draft.unit_id)
        token = reply_to.split("+")[1].split("@")[0]
        tampered = token[:10] + ("a" if token[10] != "a" else "b") + token[11:]
        assert read_reply_token(SECRET, reply_to.replace(token, tampered)) is None
        assert read_reply_token("someone-else's-secret", reply_to) is None
        assert token in parts(received.message())[1], "the mailto buttons answer to the same token"


def test_reporter_in_full_for_the_lead_masked_for_support(warehouse, server):
    lead, support = assignment_drafts()
    send_drafts(warehouse, Composer(MAIL), transport_to(server), [lead, support, claim_list()], AS_OF)
    received = server.handler.messages()
    lead_msg = by_recipient(received)["wang@pcs.example.cn"].message()
    for part in parts(lead_msg):
        assert "王小明" in part and "13812345678" in part
    others = [r.message() for r in received if r.rcpt_tos == ("chen@eco.example.cn",)]
    assert len(others) == 2  # the support notice and the claim list
    for message in others:
        for part in parts(message):
            assert "王小明" not in part and "13812345678" not in part
    support_text, support_html = parts(next(m for m in others if "协办" in m["Subject"]))
    assert "王**" in support_text and "138****5678" in support_text
    assert "王**" in support_html and "138****5678" in support_html


def test_case_text_arrives_literally_and_escaped_in_html(warehouse, server):
    lead, _ = assignment_drafts()
    send_drafts(warehouse, Composer(MAIL), transport_to(server), [lead], AS_OF)
    text, html = parts(server.handler.messages()[0].message())
    assert "<script>alert('x')</script>" in text
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    for part in (text, html):
        assert "{{ 7*7 }}" in part and "{% if true %}X{% endif %}" in part
        assert "49" not in part


def test_a_title_with_cr_lf_injects_no_header_and_no_recipient(warehouse, server):
    lead, _ = assignment_drafts()
    send_drafts(warehouse, Composer(MAIL), transport_to(server), [lead], AS_OF)
    (received,) = server.handler.messages()
    assert received.rcpt_tos == ("wang@pcs.example.cn",)
    headers = BytesHeaderParser().parsebytes(received.data)
    names = [name.lower() for name in headers]
    assert "bcc" not in names
    assert names.count("to") == 1 and names.count("subject") == 1 and names.count("cc") == 0
    assert str(received.message()["To"]) == "王警官 <wang@pcs.example.cn>"
    assert not re.search(rb"^(bcc|to):.*attacker", received.data, re.IGNORECASE | re.MULTILINE)


def test_cc_recipients_get_the_message_once(warehouse, server):
    lead, _ = assignment_drafts()
    with_cc = Draft(**{**lead.__dict__, "cc": (Recipient("周队员", "zhou@urban.example.cn"),)})
    send_drafts(warehouse, Composer(MAIL), transport_to(server), [with_cc], AS_OF)
    (received,) = server.handler.messages()
    assert received.rcpt_tos == ("wang@pcs.example.cn", "zhou@urban.example.cn")
    assert str(received.message()["Cc"]) == "周队员 <zhou@urban.example.cn>"


def test_many_messages_over_several_connections(warehouse, server):
    drafts = simple_drafts(250)
    queue_drafts(warehouse, Composer(MAIL), drafts, AS_OF)
    report = deliver_due(warehouse, transport_to(server, connections=8), AS_OF, chunk_size=40)
    assert (report.due, report.sent) == (250, 250)
    received = server.handler.messages()
    assert len(received) == len({r.message_id for r in received}) == 250
    assert warehouse.scalar("SELECT count(*) FROM messages WHERE state = 'sent'") == 250


def test_starttls_and_login_from_settings(warehouse, tmp_path):
    server_tls, client_tls = tls_contexts(tmp_path)
    options = {"tls_context": server_tls, "require_starttls": True, "auth_required": True,
               "authenticator": password_authenticator("liandong", "s3cret-pw")}
    with smtp_server(**options) as server:
        transport = transport_to(server, security="starttls", username="liandong", password="s3cret-pw",
                                 tls_context=client_tls)
        _, report = send_drafts(warehouse, Composer(MAIL), transport, simple_drafts(3), AS_OF)
        assert report.sent == 3 and len(server.handler.messages()) == 3


def test_implicit_tls(warehouse, tmp_path):
    server_tls, client_tls = tls_contexts(tmp_path)
    with smtp_server(implicit_tls=server_tls) as server:
        _, report = send_drafts(warehouse, Composer(MAIL), transport_to(server, security="tls", tls_context=client_tls),
                                simple_drafts(2), AS_OF)
        assert report.sent == 2 and len(server.handler.messages()) == 2


def test_a_wrong_password_defers_everything_and_is_never_repeated(warehouse, tmp_path):
    server_tls, client_tls = tls_contexts(tmp_path)
    options = {"tls_context": server_tls, "require_starttls": True, "auth_required": True,
               "authenticator": password_authenticator("liandong", "right-password")}
    with smtp_server(**options) as server:
        transport = transport_to(server, security="starttls", username="liandong", password="wrong-pw-1234",
                                 tls_context=client_tls)
        _, report = send_drafts(warehouse, Composer(MAIL), transport, simple_drafts(5), AS_OF)
        assert server.handler.messages() == []
    assert (report.sent, report.failed_temporary) == (0, 5)
    assert "535" in report.transport_error
    stored = repr(warehouse.rows("SELECT * EXCLUDE (raw) FROM messages"))
    stored += repr(warehouse.rows("SELECT * FROM attention_items"))
    for text in (report.transport_error, repr(report), repr(transport), stored):
        assert "wrong-pw-1234" not in text


def test_starttls_required_by_the_server_but_not_configured(warehouse, tmp_path):
    server_tls, _ = tls_contexts(tmp_path)
    with smtp_server(tls_context=server_tls, require_starttls=True) as server:
        _, report = send_drafts(warehouse, Composer(MAIL), transport_to(server), simple_drafts(3), AS_OF)
    assert (report.sent, report.failed_temporary, report.failed_permanent) == (0, 3, 0)
    assert "530" in report.transport_error
