"""A real aiosmtpd SMTP server on loopback for tests, with hooks for answering what a test wants.

aiosmtpd's `Controller` cannot bind port 0 (aio-libs/aiosmtpd#388), so `smtp_server` binds the
socket itself and runs the server in its own thread and event loop: the code under test runs
`asyncio.run` in the test's thread and talks to the server over TCP like to any other.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import ssl
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.ports import free_port

HOST = "127.0.0.1"

# A hook gets what aiosmtpd gives the handler and returns an SMTP answer ("451 4.7.1 try later")
# to refuse, or None to accept. It may be a coroutine function (to stall, for instance).
Hook = Callable[..., "Awaitable[str | None] | str | None"]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return self.message()["Message-ID"].strip("<>")


@dataclass
class RecordingHandler:
    """Keeps every accepted message. `on_rcpt(address)` and `on_data(envelope, server)` may refuse."""

    on_rcpt: Hook | None = None
    on_data: Hook | None = None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        refusal = await _call(self.on_rcpt, address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = await _call(self.on_data, envelope, server)
        if refusal:
            return refusal
        with self.lock:
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content))
        return "250 OK queued"

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)


async def _call(hook: Hook | None, *args: Any) -> str | None:
    if hook is None:
        return None
    answer = hook(*args)
    return await answer if inspect.isawaitable(answer) else answer


def password_authenticator(username: str, password: str) -> Callable[..., AuthResult]:
    """An aiosmtpd authenticator accepting exactly one LOGIN/PLAIN username and password."""
    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data == LoginPassword(username.encode(), password.encode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself
    return authenticate


@dataclass
class RunningServer:
    host: str
    port: int
    handler: RecordingHandler


@contextmanager
def smtp_server(handler: RecordingHandler | None = None, *, implicit_tls: ssl.SSLContext | None = None,
                **smtp_options: Any) -> Iterator[RunningServer]:
    """aiosmtpd on 127.0.0.1 and a free port, in its own thread; `implicit_tls` wraps the socket
    in TLS from the first byte (port 465 style); `smtp_options` go to `aiosmtpd.smtp.SMTP`
    (tls_context for STARTTLS, require_starttls, authenticator, auth_required, …)."""
    handler = handler or RecordingHandler()
    sock = socket.socket()
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    thread = threading.Thread(target=_serve, args=(loop, sock, handler, implicit_tls, smtp_options, ready),
                              daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the test SMTP server did not start")
    try:
        yield RunningServer(HOST, port, handler)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _serve(loop: asyncio.AbstractEventLoop, sock: socket.socket, handler: RecordingHandler,
           implicit_tls: ssl.SSLContext | None, smtp_options: dict[str, Any], ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    options = {"hostname": "mx.test", **smtp_options}
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, **options), sock=sock, ssl=implicit_tls))
    ready.set()
    try:
        loop.run_forever()
    finally:
        server.close()
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()


def unused_port() -> int:
    """A loopback port nothing listens on (for "server down")."""
    return free_port()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1, made with the openssl command line tool."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def tls_contexts(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts around a fresh self-signed certificate the client trusts."""
    cert, key = self_signed_certificate(folder)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))
