"""From a `Draft` (who, about what, which template, which data) to the exact bytes that will be
sent, with every header of the email contract (DESIGN.md "Email contract").

Templates live in `templates/email/<locale>/<name>.txt.j2` and `<name>.html.j2`, extending the
locale's `base` (which extends the shared `_layout`); every template sees `L` (the locale's
words, labels.j2) and `ui` (HTML building blocks, _macros.html.j2). The subject is the `subject`
block of the text template, and the case tag `[LD-2026-000123]` is put in front of it here so
no template can forget it. Case text is data, never template source: it is only
ever a value in the context, so `{{ 7*7 }}` in a description arrives as typed, and the HTML
environment autoescapes it. Templates are compiled once per `Composer`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import jinja2

from liandong.clock import local, naive_utc
from liandong.settings import MailSettings
from tasks.mail import mime
from tasks.mail.privacy import redact
from tasks.mail.tokens import make_reply_token, reply_address

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"
LOCALES: tuple[str, ...] = ("zh-CN", "en")
SUBJECT_LIMIT = 160
_KEY = re.compile(r"[^\x00-\x1f\x7f]{1,200}")
NAME_LIMIT = 80

Locale = Literal["zh-CN", "en"]


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    locale: Locale = "zh-CN"


@dataclass(frozen=True)
class Draft:
    """One message to be sent. The idempotency key names the message for its whole life:
    queueing a key that is already in the outbox adds nothing (`assignment:<assignment_id>`)."""

    idempotency_key: str
    purpose: str
    template: str
    to: tuple[Recipient, ...]
    context: Mapping[str, Any]
    case_id: str | None = None
    assignment_id: str | None = None
    unit_id: str | None = None
    cc: tuple[Recipient, ...] = ()
    # Reporter name and phone are masked unless this is set (only for the lead unit).
    reveal_reporter: bool = False
    # An iCalendar object with its METHOD (a meeting invitation or cancellation): sent as a
    # `text/calendar` alternative and as `invite.ics` (mime.build_message). Never redacted, so
    # it must be built from data that is fit for every recipient.
    calendar: str | None = None


@dataclass(frozen=True)
class Composed:
    """A rendered message, ready to be recorded in the outbox and sent as it is."""

    message_id: str
    idempotency_key: str
    purpose: str
    case_id: str | None
    assignment_id: str | None
    unit_id: str | None
    mail_from: str
    to_addrs: tuple[str, ...]
    cc_addrs: tuple[str, ...]
    subject: str
    raw: bytes = field(repr=False)


@dataclass(frozen=True)
class _Compiled:
    text: jinja2.Template
    html: jinja2.Template
    subject: Callable[[Any], Any]


class Composer:
    """Renders drafts with the mail settings (sender, reply domain, token secret)."""

    def __init__(self, mail: MailSettings, templates: Path = TEMPLATES):
        self._mail = mail
        self._secret = mail.reply_secret.get_secret_value().encode()
        self._from_name = mime.header_text(mail.from_name, NAME_LIMIT)
        self._from = mime.mailbox(self._from_name, mail.from_address)
        self._mail_from = mime.check_address(mail.from_address)
        self._envs = {locale: _environment(templates, locale) for locale in LOCALES}
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def compose(self, draft: Draft, as_of: datetime) -> Composed:
        """Raises ValueError (bad address, id or purpose) or a jinja2 error (missing context key)."""
        if not _KEY.fullmatch(draft.idempotency_key):
            raise ValueError(f"idempotency key {draft.idempotency_key!r}: 1–200 printable characters")
        if not draft.to:
            raise ValueError(f"draft {draft.idempotency_key!r} has no recipient")
        compiled = self._template(draft.to[0].locale, draft.template)
        message_id = self._message_id(draft.idempotency_key)
        reply_to = reply_address(
            make_reply_token(self._secret, purpose=draft.purpose, case_id=draft.case_id,
                             assignment_id=draft.assignment_id, unit_id=draft.unit_id),
            self._mail.reply_domain,
        )
        common = {"case_id": draft.case_id, "recipient_name": draft.to[0].name,
                  "platform_name": self._mail.from_name, "reply_address": reply_to}
        masked = {**redact(draft.context), **common}
        # The subject is always rendered from masked data: it shows in inbox lists and lock
        # screens, and it is stored in `messages.subject`, which artifacts may list.
        subject = self._subject(draft.case_id, compiled, masked)
        context = {**draft.context, **common} if draft.reveal_reporter else masked
        context.update(subject=subject, mailto=_mailto(reply_to, f"Re: {subject}"))
        headers = [
            ("From", self._from),
            ("To", mime.mailbox_list(_mailboxes(draft.to))),
            *([("Cc", mime.mailbox_list(_mailboxes(draft.cc)))] if draft.cc else []),
            ("Reply-To", mime.mailbox(self._from_name, reply_to)),
            ("Subject", mime.encode_header("Subject", subject)),
            ("Date", _date_header(as_of)),
            ("Message-ID", f"<{message_id}>"),
            ("Auto-Submitted", "auto-generated"),
            ("X-Auto-Response-Suppress", "All"),
            ("Content-Language", draft.to[0].locale),
        ]
        raw = mime.build_message(headers, compiled.text.render(context), compiled.html.render(context),
                                 boundary=f"=_ld_{message_id.split('@')[0]}", calendar=draft.calendar)
        return Composed(
            message_id=message_id, idempotency_key=draft.idempotency_key, purpose=draft.purpose,
            case_id=draft.case_id, assignment_id=draft.assignment_id, unit_id=draft.unit_id,
            mail_from=self._mail_from,
            to_addrs=tuple(mime.check_address(r.email) for r in draft.to),
            cc_addrs=tuple(mime.check_address(r.email) for r in draft.cc),
            subject=subject, raw=raw,
        )

    def _template(self, locale: str, name: str) -> _Compiled:
        key = (locale, name)
        if key not in self._compiled:
            env = self._envs[locale]
            text = env.get_template(f"{name}.txt.j2")
            if "subject" not in text.blocks:
                raise ValueError(f"template {locale}/{name}.txt.j2 has no subject block")
            self._compiled[key] = _Compiled(text, env.get_template(f"{name}.html.j2"), text.blocks["subject"])
        return self._compiled[key]

    def _subject(self, case_id: str | None, compiled: _Compiled, context: dict[str, Any]) -> str:
        rendered = "".join(compiled.subject(compiled.text.new_context(context)))
        tagged = f"[{case_id}] {rendered}" if case_id else rendered
        return mime.header_text(tagged, SUBJECT_LIMIT)

    def _message_id(self, idempotency_key: str) -> str:
        # Keyed by the installation's secret, so a test and a production install never mint the
        # same Message-ID for the same key; stable for the key, so it never changes on retries.
        digest = hmac.new(self._secret, b"message-id\x00" + idempotency_key.encode(), hashlib.sha256).digest()
        return f"{digest[:16].hex()}@{self._mail.reply_domain}"


def _mailboxes(recipients: tuple[Recipient, ...]) -> list[tuple[str, str]]:
    return [(mime.header_text(r.name, NAME_LIMIT), r.email) for r in recipients]


def _mailto(address: str, subject: str) -> Callable[[str], str]:
    """`mailto(body)` for templates: a link that prefills the reply, keyword first (RFC 6068:
    UTF-8, percent-encoded)."""
    prefix = f"mailto:{address}?subject={quote(subject, safe='')}&body="
    return lambda body: prefix + _quoted(body)


@lru_cache(maxsize=256)
def _quoted(body: str) -> str:
    # The bodies are a template's few keywords, the same in every message.
    return quote(body, safe="")


def _environment(root: Path, locale: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([root / locale, root]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["local_time"] = _local_time
    # Loaded once and shared by every template, instead of an {% import %} in each message.
    env.globals["L"] = env.get_template("labels.j2").module
    env.globals["ui"] = env.get_template("_macros.html.j2").module
    return env


@lru_cache(maxsize=64)
def _date_header(as_of: datetime) -> str:
    """RFC 5322 date in Beijing time; a batch shares one `as_of`."""
    return format_datetime(local(naive_utc(as_of)))


@lru_cache(maxsize=1024)
def _local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A warehouse timestamp (naive UTC) as Beijing time. Cached: a batch shares its deadlines."""
    return local(value).strftime(fmt) if value else ""
