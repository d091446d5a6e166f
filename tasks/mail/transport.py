"""Where composed messages go: an SMTP server (aiosmtplib) or a Maildir folder (the demo).

Both sit behind `MailTransport`: it opens `connections` sessions side by side, and a session
sends one envelope at a time and says what happened in an `Outcome` — it never raises for
what the server answered. When a session cannot reach or log in to the server at all it
raises `TransportUnavailable`; the outbox then stops using it (see outbox.py).

SMTP sessions keep their connection across messages and reconnect lazily after the server
or a timeout dropped it. Server answers are classified per RFC 5321: 4xx, timeouts and lost
connections are temporary; 5xx permanent, except 552 to RCPT ("too many recipients", §4.5.3.1.10).
Credentials are held by the transport only: error texts pass through `scrub`, and no repr,
log line or exception carries them.
"""

from __future__ import annotations

import mailbox
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import aiosmtplib

from liandong.settings import Settings

CONNECTION_LOST = 0  # the code of a Refusal when no server answer exists
# Answers to MAIL FROM that say our setup is wrong (STARTTLS or login required, bad login),
# not the message: they would refuse every message, so the session is unusable instead.
_SETUP_CODES = frozenset({530, 534, 535, 538})


class TransportUnavailable(Exception):
    """No message can go through this session: connect, TLS or login failed."""


class OutboxUnwritable(Exception):
    """The Maildir outbox (our own disk) cannot be written: full, or not a writable folder. Unlike
    a mail server that is down, nothing outside will fix it, so the run fails loudly; the messages
    stay unsent (failed_temporary) and go out once the folder is fixed."""


@dataclass(frozen=True)
class Envelope:
    message_id: str
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes = field(repr=False)


@dataclass(frozen=True)
class Refusal:
    code: int
    text: str
    temporary: bool

    @classmethod
    def of(cls, code: int, text: str, *, at_rcpt: bool = False) -> Refusal:
        temporary = code == CONNECTION_LOST or code < 0 or 400 <= code < 500 or (at_rcpt and code == 552)
        return cls(code, " ".join(text.split())[:300], temporary)

    def __str__(self) -> str:
        return f"{self.code} {self.text}" if self.code > 0 else self.text


@dataclass(frozen=True)
class Outcome:
    """What became of one envelope. `failure` is set when the message as a whole was not
    accepted; otherwise it was accepted for every recipient not listed in `refused`."""

    message_id: str
    failure: Refusal | None = None
    refused: Mapping[str, Refusal] = field(default_factory=dict)


class MailSession(Protocol):
    async def send(self, envelope: Envelope) -> Outcome: ...


class MailTransport(Protocol):
    connections: int

    def session(self) -> AbstractAsyncContextManager[MailSession]: ...


@dataclass
class MaildirTransport:
    """Writes each message, byte for byte, into a Maildir (`settings.outbox_folder`): the demo
    needs no server and anyone can open the folder with a mail client."""

    folder: Path
    connections: int = 1

    @asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        yield _MaildirSession(self.folder)


@dataclass
class _MaildirSession:
    folder: Path
    box: mailbox.Maildir | None = None

    async def send(self, envelope: Envelope) -> Outcome:
        try:
            if self.box is None:
                self.folder.parent.mkdir(parents=True, exist_ok=True)
                self.box = mailbox.Maildir(self.folder, factory=None, create=True)
            self.box.add(envelope.raw)
        except OSError as exc:
            raise TransportUnavailable(f"无法写入发件箱文件夹 {self.folder}（磁盘已满或不可写）/ cannot write to the "
                                       f"outbox folder {self.folder} (disk full or not writable): {exc}") from None
        return Outcome(envelope.message_id)


@dataclass
class SmtpTransport:
    host: str
    port: int
    security: str = "none"  # none | starttls | tls
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    connections: int = 8
    timeout: float = 30.0
    tls_context: ssl.SSLContext | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.security not in ("none", "starttls", "tls"):
            raise ValueError(f"smtp security must be none, starttls or tls, not {self.security!r}")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        session = _SmtpSession(self, self._client())
        try:
            yield session
        finally:
            await session.close()

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host, port=self.port, timeout=self.timeout,
            use_tls=self.security == "tls", start_tls=self.security == "starttls",
            tls_context=self.tls_context, username=self.username, password=self.password,
        )

    def scrub(self, text: str) -> str:
        for secret in (self.password, self.username):
            if secret:
                text = text.replace(secret, "***")
        return text


@dataclass
class _SmtpSession:
    transport: SmtpTransport
    client: aiosmtplib.SMTP = field(repr=False)

    async def send(self, envelope: Envelope) -> Outcome:
        await self._connect()
        try:
            refused, _ = await self.client.sendmail(envelope.mail_from, list(envelope.recipients), envelope.raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return Outcome(envelope.message_id, refused=self._refusals(
                {e.recipient: (e.code, e.message) for e in exc.recipients}))
        except aiosmtplib.SMTPSenderRefused as exc:
            if exc.code in _SETUP_CODES:
                raise self._unavailable(exc) from None
            return Outcome(envelope.message_id, failure=Refusal.of(exc.code, self.transport.scrub(exc.message)))
        except aiosmtplib.SMTPResponseException as exc:
            return Outcome(envelope.message_id, failure=Refusal.of(exc.code, self.transport.scrub(exc.message)))
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            self.client.close()
            return Outcome(envelope.message_id, failure=Refusal.of(CONNECTION_LOST, self._describe(exc)))
        except (aiosmtplib.SMTPException, ValueError) as exc:
            # The server cannot take this message at all (e.g. a non-ASCII address without SMTPUTF8).
            return Outcome(envelope.message_id, failure=Refusal(554, self._describe(exc), temporary=False))
        return Outcome(envelope.message_id, refused=self._refusals(refused))

    async def close(self) -> None:
        if self.client.is_connected:
            try:
                await self.client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self.client.close()

    async def _connect(self) -> None:
        if self.client.is_connected:
            return
        try:
            await self.client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: BaseException) -> TransportUnavailable:
        where = f"{self.transport.host}:{self.transport.port}"
        return TransportUnavailable(f"cannot use SMTP server {where}: {self._describe(exc)}")

    def _refusals(self, refused: Mapping[str, tuple[int, str]]) -> dict[str, Refusal]:
        return {rcpt: Refusal.of(code, self.transport.scrub(text), at_rcpt=True)
                for rcpt, (code, text) in refused.items()}

    def _describe(self, exc: BaseException) -> str:
        return self.transport.scrub(f"{type(exc).__name__}: {exc}".strip())


def transport_from_settings(settings: Settings) -> MailTransport:
    if settings.mail.transport == "maildir":
        assert settings.outbox_folder is not None  # filled in by Settings.model_post_init
        return MaildirTransport(settings.outbox_folder)
    mail = settings.mail
    return SmtpTransport(
        host=mail.smtp_host, port=mail.smtp_port, security=mail.smtp_security, username=mail.smtp_username,
        password=mail.smtp_password.get_secret_value() if mail.smtp_password else None,
        connections=mail.smtp_connections, timeout=mail.smtp_timeout_seconds,
    )
