"""Where replies come from: a Maildir (`settings.inbox_folder`, the demo) or the organisation's
IMAP mailbox (`settings.imap`), behind one small interface.

    with transport.open() as box:            # connect / log in: InboundUnavailable if it cannot
        for batch in box.batches(200):        # messages not yet processed, oldest first
            ... commit their effects ...
            box.mark_processed([f.ref for f in batch])   # only after the commit

A message leaves the unprocessed set only through `mark_processed`: moved to the processed
folder (IMAP: `MOVE`, or `COPY` + `\\Deleted` + `EXPUNGE` where the server lacks MOVE; Maildir:
into the Maildir++ sub-folder `.processed`). A crash or a lost connection before that leaves it
where it was, to be read again; the warehouse recognises it by its inbound id and changes
nothing the second time. Every failure of the server or the folder surfaces as
`InboundUnavailable`, whose text never carries the credentials.

Messages over `max_bytes` are not fetched whole: only their header, with `Fetched.size` set.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import re
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol, TypeVar

from liandong.settings import Settings

T = TypeVar("T")
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
BATCH_BYTES = 64 * 1024 * 1024
HEADER_LIMIT = 256 * 1024  # how much of an oversized message is read for its header
PROCESSED = ".processed"  # the Maildir++ folder a mail client shows as "processed"


class InboundUnavailable(Exception):
    """The mailbox cannot be read or updated now (server down, login refused, folder gone)."""


@dataclass(frozen=True)
class Fetched:
    ref: str  # the transport's name for the message, kept in inbound_messages.transport_ref
    raw: bytes = field(repr=False)
    arrived_at: datetime | None = None  # naive UTC, when the server has it
    size: int | None = None  # set when only the header was fetched (too large)


class Mailbox(Protocol):
    def batches(self, size: int) -> Iterator[list[Fetched]]: ...

    def mark_processed(self, refs: Sequence[str]) -> None: ...


class InboundTransport(Protocol):
    def open(self) -> AbstractContextManager[Mailbox]: ...


# ------------------------------------------------------------------------------------ Maildir


@dataclass
class MaildirInbox:
    """A Maildir written by anything (a local MTA, the demo's simulated contacts, a person
    copying .eml files into new/): every file in new/ and cur/ is a message."""

    folder: Path
    max_bytes: int = MAX_MESSAGE_BYTES

    @contextmanager
    def open(self) -> Iterator[Mailbox]:
        yield _MaildirBox(self.folder, self.max_bytes)


@dataclass
class _MaildirBox:
    folder: Path
    max_bytes: int

    def batches(self, size: int) -> Iterator[list[Fetched]]:
        for group in _grouped(self._pending(), size, self.max_bytes):
            yield [self._read(ref, length) for ref, length in group]

    def mark_processed(self, refs: Sequence[str]) -> None:
        target = self.folder / PROCESSED
        # Plain strings: pathlib costs more than the rename itself, thousands of times a run.
        folder, done = str(self.folder), str(target / "cur")
        try:
            for sub in ("cur", "new", "tmp"):
                (target / sub).mkdir(parents=True, exist_ok=True)
            for ref in refs:
                base = ref.split("/", 1)[1].split(":2,", 1)[0]
                try:
                    os.replace(os.path.join(folder, ref), os.path.join(done, f"{base}:2,S"))
                except FileNotFoundError:
                    pass  # moved by an earlier run that stopped before its next batch
        except OSError as exc:
            raise InboundUnavailable(f"cannot move processed messages in {self.folder}: {exc}") from None

    def _pending(self) -> list[tuple[str, int]]:
        """(`new/<name>` or `cur/<name>`, size), in arrival order (Maildir names start with the time)."""
        try:
            found = [(entry.name, f"{sub}/{entry.name}", entry.stat().st_size) for sub in ("new", "cur")
                     if (self.folder / sub).is_dir()
                     for entry in os.scandir(self.folder / sub)
                     if entry.is_file() and not entry.name.startswith(".")]
        except OSError as exc:
            raise InboundUnavailable(f"cannot read the inbox folder {self.folder}: {exc}") from None
        return [(ref, size) for _, ref, size in sorted(found)]

    def _read(self, ref: str, size: int) -> Fetched:
        path = self.folder / ref
        try:
            if size <= self.max_bytes:
                return Fetched(ref, path.read_bytes())
            with path.open("rb") as f:
                return Fetched(ref, _header_of(f.read(HEADER_LIMIT)), size=size)
        except OSError as exc:
            raise InboundUnavailable(f"cannot read {path}: {exc}") from None


def _grouped(items: list[tuple[str, int]], count: int, max_bytes: int) -> Iterator[list[tuple[str, int]]]:
    """Batches of at most `count` messages and BATCH_BYTES: a batch is held in memory twice
    over (read ahead, reader.py), so 1,000 messages of 20 MB must not make one."""
    batch: list[tuple[str, int]] = []
    total = 0
    for key, size in items:
        weight = size if size <= max_bytes else HEADER_LIMIT
        if batch and (len(batch) == count or total + weight > BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append((key, size))
        total += weight
    if batch:
        yield batch


def _header_of(data: bytes) -> bytes:
    end = re.search(rb"\r?\n\r?\n", data)
    return data[: end.end()] if end else data


# ------------------------------------------------------------------------------------ IMAP

_FETCH_ITEM = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)|INTERNALDATE \"([^\"]+)\"")
_MESSAGE_START = re.compile(rb"\d+ \(")
_IMAP_ERRORS = (imaplib.IMAP4.error, OSError, socket.timeout, ssl.SSLError, EOFError)


@dataclass
class ImapInbox:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    security: str = "tls"  # tls | starttls | none
    mailbox: str = "INBOX"
    processed_folder: str = "Liandong-Processed"
    timeout: float = 30.0
    tls_context: ssl.SSLContext | None = field(default=None, repr=False)
    max_bytes: int = MAX_MESSAGE_BYTES

    def __post_init__(self) -> None:
        if self.security not in ("tls", "starttls", "none"):
            raise ValueError(f"imap security must be tls, starttls or none, not {self.security!r}")

    @contextmanager
    def open(self) -> Iterator[Mailbox]:
        imap = self._guarded(self._connect)
        try:
            box = _ImapBox(self, imap)
            self._guarded(box.prepare)
            yield box
        finally:
            try:
                imap.logout()
            except _IMAP_ERRORS:
                pass

    def _connect(self) -> imaplib.IMAP4:
        context = self.tls_context or ssl.create_default_context()
        if self.security == "tls":
            imap = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=self.timeout)
        else:
            imap = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                imap.starttls(context)
            imap.login(self.username, self.password)
        except BaseException:
            with contextlib.suppress(OSError):  # a failed TLS handshake may have closed it already
                imap.shutdown()
            raise
        return imap

    def _guarded(self, call: Callable[..., T], *args: object) -> T:
        """Run an IMAP step; any failure becomes InboundUnavailable without the credentials."""
        try:
            return call(*args)
        except _IMAP_ERRORS as exc:
            text = f"{type(exc).__name__}: {exc}"
            for secret in (self.password, self.username):
                if secret:
                    text = text.replace(secret, "***")
            raise InboundUnavailable(f"IMAP {self.host}:{self.port}: {text}") from None


@dataclass
class _ImapBox:
    inbox: ImapInbox
    imap: imaplib.IMAP4
    uidvalidity: str = ""
    can_move: bool = False

    def prepare(self) -> None:
        capabilities = _ok(self.imap.capability())[0].decode("ascii", "replace").upper().split()
        if "ID" in capabilities:
            # NetEase (163/126) refuses SELECT from a client that has not said who it is; a server
            # that advertises ID and then refuses ours is not worth failing the run for.
            with contextlib.suppress(imaplib.IMAP4.error):
                self.imap.xatom("ID", '("name" "Liandong" "version" "1")')
        self.can_move = "MOVE" in capabilities
        self.imap.create(_quoted(self.inbox.processed_folder))  # NO when it exists: fine
        _ok(self.imap.select(_quoted(self.inbox.mailbox)))
        self.uidvalidity = (self.imap.response("UIDVALIDITY")[1][0] or b"0").decode("ascii")

    def batches(self, size: int) -> Iterator[list[Fetched]]:
        found = self.inbox._guarded(self._pending)
        for group in _grouped([(uid, length or 0) for uid, (length, _) in found.items()], size,
                              self.inbox.max_bytes):
            yield self.inbox._guarded(self._fetch, [uid for uid, _ in group], found)

    def mark_processed(self, refs: Sequence[str]) -> None:
        prefix = f"imap:{self.inbox.mailbox}:{self.uidvalidity}:"
        uids = ",".join(ref[len(prefix):] for ref in refs if ref.startswith(prefix))
        if uids:
            self.inbox._guarded(self._move, uids)

    def _pending(self) -> dict[str, tuple[int | None, datetime | None]]:
        """UID → (size, arrival time) of every message not deleted, oldest first."""
        uids = _ok(self.imap.uid("SEARCH", None, "UNDELETED"))[0].split()
        if not uids:
            return {}
        answer = _ok(self.imap.uid("FETCH", _uid_set(int(u) for u in uids), "(UID RFC822.SIZE INTERNALDATE)"))
        info = {uid: (size, arrived) for uid, size, arrived, _ in _fetched(answer)}
        return {uid: info[uid] for uid in sorted(info, key=int)}

    def _fetch(self, uids: list[str], info: dict[str, tuple[int | None, datetime | None]]) -> list[Fetched]:
        small = [uid for uid in uids if (info[uid][0] or 0) <= self.inbox.max_bytes]
        large = [uid for uid in uids if uid not in small]
        found: dict[str, Fetched] = {}
        for chosen, item in ((small, "BODY.PEEK[]"), (large, "BODY.PEEK[HEADER]")):
            if chosen:
                answer = _ok(self.imap.uid("FETCH", _uid_set(int(u) for u in chosen), f"(UID {item})"))
                for uid, _, _, raw in _fetched(answer):
                    size, arrived = info[uid]
                    found[uid] = Fetched(f"imap:{self.inbox.mailbox}:{self.uidvalidity}:{uid}", raw, arrived,
                                         size if uid in large else None)
        return [found[uid] for uid in uids if uid in found]

    def _move(self, uids: str) -> None:
        folder = _quoted(self.inbox.processed_folder)
        if self.can_move:
            _ok(self.imap.uid("MOVE", uids, folder))
            return
        _ok(self.imap.uid("COPY", uids, folder))
        _ok(self.imap.uid("STORE", uids, "+FLAGS.SILENT", r"(\Deleted)"))
        _ok(self.imap.expunge())


def _uid_set(uids: Iterable[int]) -> str:
    """`1:5,7,9:12`: runs of UIDs as ranges, so a command for thousands of messages stays short."""
    ranges: list[list[int]] = []
    for uid in sorted(uids):
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1][1] = uid
        else:
            ranges.append([uid, uid])
    return ",".join(f"{a}:{b}" if a != b else str(a) for a, b in ranges)


def _ok(answer: tuple[str, list]) -> list:
    typ, data = answer
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{typ} {data!r}"[:300])
    return data


def _fetched(data: list) -> Iterator[tuple[str, int | None, datetime | None, bytes]]:
    """(uid, size, arrival time, literal) of each message in a FETCH answer. imaplib gives a
    message with a literal as (text before it, literal) plus the text after it, where a server
    may put the UID (`BODY[] {n}` … ` UID 7)`); a message without one as a single line."""
    messages: list[tuple[bytes, bytes]] = []
    for item in data:
        if isinstance(item, tuple):
            messages.append((item[0], item[1]))
        elif isinstance(item, bytes) and messages and not _MESSAGE_START.match(item):
            messages[-1] = (messages[-1][0] + item, messages[-1][1])
        elif isinstance(item, bytes):
            messages.append((item, b""))
    for head, raw in messages:
        uid = size = arrived = None
        for found in _FETCH_ITEM.finditer(head):
            uid = found.group(1) or uid
            size = found.group(2) or size
            arrived = found.group(3) or arrived
        if uid is not None:
            yield (uid.decode("ascii"), int(size) if size else None, _internaldate(arrived), raw)


def _internaldate(value: bytes | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.strptime(value.decode("ascii").strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ------------------------------------------------------------------------------------ settings


def inbound_from_settings(settings: Settings) -> InboundTransport:
    imap = settings.imap
    if not imap.enabled:
        assert settings.inbox_folder is not None  # filled in by Settings.model_post_init
        return MaildirInbox(settings.inbox_folder)
    context = ssl.create_default_context(cafile=str(imap.ca_file) if imap.ca_file else None)
    return ImapInbox(host=imap.host, port=imap.port, username=imap.username,
                     password=imap.password.get_secret_value(), security=imap.security, mailbox=imap.mailbox,
                     processed_folder=imap.processed_folder, timeout=imap.timeout_seconds, tls_context=context)
