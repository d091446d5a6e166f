"""Composing messages: templates in both locales, the MIME writer, hostile case text.
(What a real SMTP server receives is checked in test_mail_smtp.py.)"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.parser import BytesHeaderParser
from urllib.parse import unquote

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from tasks.mail import mime
from tasks.mail.compose import LOCALES, TEMPLATES, Composer, Draft, Recipient
from tests.support.mail import AS_OF, MAIL, SUPPORT_EN, assignment_drafts, claim_list, parts


@pytest.fixture(scope="module")
def composer() -> Composer:
    return Composer(MAIL)


def parse(raw: bytes):
    return message_from_bytes(raw, policy=policy.default)


def test_every_template_exists_in_every_locale_with_both_parts():
    names = {p.name.split(".")[0] for locale in LOCALES for p in (TEMPLATES / locale).glob("*.j2")}
    assert {"assignment", "claim_list"} <= names - {"base", "labels"}
    for locale in LOCALES:
        for name in names - {"labels"}:
            for part in ("txt", "html"):
                assert (TEMPLATES / locale / f"{name}.{part}.j2").is_file(), (locale, name, part)


@pytest.mark.parametrize("locale", LOCALES)
def test_both_notices_render_in_each_locale(composer, locale):
    lead, support = assignment_drafts()
    for draft, marker in ((lead, {"zh-CN": "牵头", "en": "lead"}), (support, {"zh-CN": "协办", "en": "support"})):
        to = Recipient(draft.to[0].name, draft.to[0].email, locale)
        message = parse(composer.compose(Draft(**{**draft.__dict__, "to": (to,)}), AS_OF).raw)
        text, html = parts(message)
        assert marker[locale] in message["Subject"] and marker[locale] in text
        assert message["Content-Language"] == locale
        assert f'<html lang="{locale}">' in html
    digest = parse(composer.compose(claim_list(SUPPORT_EN), AS_OF).raw)
    assert digest["Subject"] == "Claim list: 2 open needs looking for a unit"
    assert "claim LD-2026-000007" in parts(digest)[0]


def test_headers_of_the_contract(composer):
    lead, _ = assignment_drafts()
    composed = composer.compose(lead, AS_OF)
    message = parse(composed.raw)
    assert message["Subject"].startswith("[LD-2026-000123] 新诉求交办（牵头）：占道经营 Bcc: evil@attacker.example")
    assert message["From"] == "星光社区联动平台 <liandong@xingguang.example.cn>"
    assert message["To"] == "王警官 <wang@pcs.example.cn>"
    assert message["Message-ID"] == f"<{composed.message_id}>"
    assert composed.message_id.endswith("@reply.xingguang.example.cn")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message["Date"] == "Fri, 20 Nov 2026 09:00:00 +0800"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert composer.compose(lead, AS_OF).message_id == composed.message_id, "stable for its idempotency key"
    assert Composer(MAIL.model_copy(update={"reply_secret": SecretStr("other")})).compose(lead, AS_OF).message_id \
        != composed.message_id, "another installation mints other ids"


def test_raw_headers_are_7bit_and_folded(composer):
    raw = composer.compose(assignment_drafts()[0], AS_OF).raw
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
    assert b"\n" not in raw.replace(b"\r\n", b""), "every line ends in CRLF"


def test_mailto_buttons_prefill_the_keyword_percent_encoded(composer):
    lead, support = assignment_drafts()
    html = parts(parse(composer.compose(lead, AS_OF).raw))[1]
    links = re.findall(r'href="(mailto:[^"]+)"', html)
    assert len(links) == 3
    bodies = [unquote(link.split("&amp;body=")[1]) for link in links]
    assert [b.splitlines()[0] for b in bodies] == ["接收", "退回", "办结"]
    assert all(link.startswith("mailto:reply+") and "?subject=Re%3A%20%5BLD-2026-000123%5D" in link for link in links)
    assert all(re.fullmatch(r"[A-Za-z0-9%+@.:?=&;_-]+", link) for link in links), "only ASCII, percent-encoded"
    support_html = parts(parse(composer.compose(support, AS_OF).raw))[1]
    assert len(re.findall(r'href="mailto:', support_html)) == 2, "a supporting unit cannot report the case done"


def test_reporter_is_masked_unless_revealed(composer):
    lead, support = assignment_drafts()
    lead_text = parts(parse(composer.compose(lead, AS_OF).raw))[0]
    support_text = parts(parse(composer.compose(support, AS_OF).raw))[0]
    assert "王小明" in lead_text and "13812345678" in lead_text
    assert "王小明" not in support_text and "13812345678" not in support_text
    assert "王**" in support_text and "138****5678" in support_text


def test_subjects_are_masked_even_for_the_lead(composer):
    lead, _ = assignment_drafts(title="王小明反映：13812345678 占道")
    composed = composer.compose(lead, AS_OF)
    message = parse(composed.raw)
    assert message["Subject"].endswith("：王**反映：138****5678 占道") and composed.subject == message["Subject"]
    assert "王小明反映：13812345678 占道" in parts(message)[0], "the lead's body keeps the full text"


def test_a_missing_context_key_is_an_error_not_an_empty_string(composer):
    lead, _ = assignment_drafts()
    broken = Draft(**{**lead.__dict__, "context": {k: v for k, v in lead.context.items() if k != "role"}})
    with pytest.raises(jinja2.UndefinedError):
        composer.compose(broken, AS_OF)


def test_a_bad_address_is_refused(composer):
    lead, _ = assignment_drafts()
    for address in ("wang@pcs.example.cn\r\nRCPT TO:<x@evil.example>", "王@pcs.example.cn", "no-at-sign"):
        with pytest.raises(ValueError):
            composer.compose(Draft(**{**lead.__dict__, "to": (Recipient("王", address),)}), AS_OF)


def test_case_text_is_never_template_source():
    lead, _ = assignment_drafts(title="{{ 7*7 }} {% raw %}")
    message = parse(Composer(MAIL).compose(lead, AS_OF).raw)
    assert "{{ 7*7 }} {% raw %}" in message["Subject"]
    assert "{{ 7*7 }}" in parts(message)[0] and "49" not in parts(message)[0]


header_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)


body_text = st.text(st.characters(exclude_characters="\r", exclude_categories=("Cs",)), max_size=500)


@settings(max_examples=300, deadline=None)
@given(subject=header_text, name=header_text, body=body_text)
def test_mime_round_trips_any_text_without_injection(subject, name, body):
    subject, name = mime.header_text(subject, 160), mime.header_text(name, 80)
    headers = [("From", mime.mailbox(name, "a@example.cn")), ("To", mime.mailbox_list([(name, "b@example.cn")])),
               ("Subject", mime.encode_header("Subject", subject)), ("X-Test", "1")]
    raw = mime.build_message(headers, body, f"<p>{body}</p>", boundary="=_ld_test")
    parsed = parse(raw)
    assert [k for k, _ in BytesHeaderParser().parsebytes(raw).items()] == \
        ["From", "To", "Subject", "X-Test", "MIME-Version", "Content-Type"]
    assert parsed["Subject"] == subject
    # CPython's address parser puts a space between adjacent encoded-words of a display name
    # (RFC 2047 §6.2 says to drop it; mail clients do); the stdlib's own output reads back the same.
    assert parsed["To"].addresses[0].display_name.replace(" ", "") == name.replace(" ", "")
    assert parsed["To"].addresses[0].addr_spec == "b@example.cn"
    assert parts(parsed)[0].replace("\r\n", "\n") == body


def test_header_text_strips_line_breaks_and_caps_length():
    assert mime.header_text("a\r\nBcc: x\u2028y\x00z\x85w", 100) == "a Bcc: x y z w"
    assert mime.header_text("字" * 200, 10) == "字" * 9 + "…"
