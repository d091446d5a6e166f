"""One inbound message's bytes → a `Reply`: who sent it, to which address, in reply to what,
what it says (quoted history stripped, by reading.py) and what it carries. Pure and picklable,
so a batch can be read in worker processes; it never raises: a message that cannot be read
comes back with `unreadable` set, for the coordinator.

Every string that leaves here is clean enough for the warehouse and an artifact: no control
characters, no lone surrogates (the stdlib parser keeps undecodable header bytes as
surrogates), bounded length.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser

from tasks.mail.privacy import mask_phone
from tasks.replies.reading import Automatic, body_text, classify_automatic, strip_quoted

# The answer is on the first lines: of a 10 MB body, each text part is read no further than
# TEXT_PART_LIMIT characters as sent (HTML to text costs ~1 s per MB), its text no further than TEXT_LIMIT.
TEXT_PART_LIMIT = 128 * 1024
TEXT_LIMIT = 100_000
MAX_ATTACHMENTS = 20
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to")
CASE_NUMBER = re.compile(r"(?<![A-Za-z0-9])LD-\d{4}-\d{6}(?!\d)", re.I)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,500})>")
_ELEVEN_DIGITS = re.compile(r"(?<!\d)(?:\+?86[- ]?)?\d{3}[- ]?\d{4}[- ]?\d{4}(?!\d)")
_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_ANGLE_ADDRESS = re.compile(rf"<\s*({_ADDRESS.pattern})\s*>")


@dataclass(frozen=True)
class Attachment:
    original_name: str  # sanitised, for people; never part of a path
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Reply:
    inbound_id: str
    message_id: str | None
    from_addr: str  # lower-case addr-spec, "" when there is none
    subject: str
    recipients: tuple[str, ...]  # every address in To, Cc, Delivered-To, X-Original-To
    references: tuple[str, ...]  # In-Reply-To, then References newest first, without <>
    automatic: Automatic | None = None
    text: str = ""  # the reply's own text
    attachments: tuple[Attachment, ...] = ()
    attachments_skipped: int = 0  # over the count or size limit
    unreadable: str | None = None


def read_reply(raw: bytes, size: int | None = None) -> Reply:
    """`raw` is the whole message, or only its header when the transport found it too large
    (`size` then gives the real size)."""
    message_id = _message_id_of(raw)
    inbound_id = inbound_id_of(message_id, raw)
    if size is not None:
        return _header_only(raw, inbound_id, message_id,
                            f"邮件过大（{size} 字节），未读取 / message too large ({size} bytes): not read")
    try:
        msg = BytesParser().parsebytes(raw)
        return _reply(msg, raw, inbound_id, message_id)
    except Exception as exc:  # noqa: BLE001 - a message that breaks the parser goes to the coordinator
        return _header_only(raw, inbound_id, message_id,
                            f"邮件无法解析 / message could not be read: {type(exc).__name__}")


def inbound_id_of(message_id: str | None, raw: bytes) -> str:
    """The same message delivered twice has the same id: by its Message-ID, else by its bytes."""
    basis = b"message-id:" + message_id.encode("utf-8", "surrogateescape") if message_id else b"bytes:" + raw
    return hashlib.sha256(basis).hexdigest()[:32]


def clean(text: str, limit: int) -> str:
    """Control characters and lone surrogates removed (line breaks kept), at most `limit` characters."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str, limit: int) -> str:
    return clean(_SPACES.sub(" ", text), limit).strip()


def mask_phones(text: str) -> str:
    """Residents' numbers never reach the attention list: 11-digit numbers keep 3 + 4 digits."""
    return _ELEVEN_DIGITS.sub(lambda found: mask_phone(found.group()), text)


def first_lines(text: str, count: int = 3, limit: int = 200) -> str:
    lines = [line.strip() for line in text.split("\n") if line.strip()][:count]
    return one_line(mask_phones(" / ".join(lines)), limit)


def case_numbers(text: str) -> list[str]:
    """Case numbers written in a text, upper-cased, first occurrence first."""
    return list(dict.fromkeys(found.upper() for found in CASE_NUMBER.findall(text)))


def _reply(msg: Message, raw: bytes, inbound_id: str, message_id: str | None) -> Reply:
    automatic = classify_automatic(msg)
    attachments, skipped = ((), 0) if automatic else _attachments(msg)
    if not automatic and len(raw) > TEXT_PART_LIMIT:
        _cut_text_parts(msg)
    text = "" if automatic else strip_quoted(body_text(msg)[:TEXT_LIMIT])
    headers = _headers(msg)
    return Reply(
        inbound_id=inbound_id, message_id=message_id, from_addr=_from_address(headers), subject=_subject(headers),
        recipients=_recipients(headers), references=_references(headers), automatic=automatic,
        text=clean(text, TEXT_LIMIT), attachments=attachments, attachments_skipped=skipped,
    )


def _header_only(raw: bytes, inbound_id: str, message_id: str | None, why: str) -> Reply:
    try:
        headers = _headers(BytesHeaderParser().parsebytes(raw))
        sender, subject = _from_address(headers), _subject(headers)
    except Exception:  # noqa: BLE001 - even the header may be beyond repair
        sender, subject = "", ""
    return Reply(inbound_id=inbound_id, message_id=message_id, from_addr=sender, subject=subject,
                 recipients=(), references=(), unreadable=why)


def _message_id_of(raw: bytes) -> str | None:
    """The Message-ID header, read from the raw header so that even an unparsable message has one."""
    head = raw[: raw.find(b"\n\n") if b"\n\n" in raw else 65536][:65536]
    found = re.search(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", head, re.I | re.M)
    if found is None:
        return None
    value = found.group(1).decode("utf-8", "surrogateescape")
    inner = _MESSAGE_ID.search(value)
    message_id = inner.group(1) if inner else value.strip()
    return clean(message_id, 500) or None


def _headers(msg: Message) -> dict[str, list[str]]:
    """Raw header values by lower-case name, in one pass over the header."""
    found: dict[str, list[str]] = {}
    for key, value in msg.raw_items():
        found.setdefault(key.lower(), []).append(str(value))
    return found


def _decoded(value: str) -> str:
    if "=?" not in value and value.isascii():
        return value
    if re.search("[\udc80-\udcff]", value):  # raw 8-bit header: UTF-8, else what Chinese clients use
        data = value.encode("ascii", "surrogateescape")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("gb18030", "replace")
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return value


def _subject(headers: dict[str, list[str]]) -> str:
    return one_line(_decoded(headers.get("subject", [""])[0]), 300)


def _from_address(headers: dict[str, list[str]]) -> str:
    value = headers.get("from", [""])[0]
    found = _ANGLE_ADDRESS.search(value) or _ADDRESS.search(value)
    return found.group(found.lastindex or 0).lower() if found else ""


def _recipients(headers: dict[str, list[str]]) -> tuple[str, ...]:
    # Only to find our reply address among them: a regex over the raw values is ten times
    # cheaper than email.utils.getaddresses and finds the same addr-specs.
    values = " ".join(value for name in RECIPIENT_HEADERS for value in headers.get(name, ()))
    return tuple(dict.fromkeys(found.lower() for found in _ADDRESS.findall(values)))[:50]


def _references(headers: dict[str, list[str]]) -> tuple[str, ...]:
    replied = _MESSAGE_ID.findall(" ".join(headers.get("in-reply-to", ())))
    earlier = _MESSAGE_ID.findall(" ".join(headers.get("references", ())))
    return tuple(dict.fromkeys(clean(m, 500) for m in [*replied, *reversed(earlier)]))[:50]


def _attachments(msg: Message) -> tuple[tuple[Attachment, ...], int]:
    kept: list[Attachment] = []
    skipped = 0
    for part in _leaf_parts(msg):
        if "content-disposition" not in part and part.get_content_maintype() == "text":
            continue  # the body itself, the common case: no need to read parameters
        name = part.get_filename()
        if not _is_attachment(part, name):
            continue
        data = part.get_payload(decode=True) if len(kept) < MAX_ATTACHMENTS else None
        if not data or len(data) > MAX_ATTACHMENT_BYTES:
            skipped += 1
            continue
        kept.append(Attachment(_original_name(name), part.get_content_type(), data))
    return tuple(kept), skipped


def _cut_text_parts(msg: Message) -> None:
    """Every long text part cut at a line break, kept decoded (8bit)."""
    for part in _leaf_parts(msg):
        if part.get_content_maintype() != "text":
            continue
        data = part.get_payload(decode=True) or b""
        if len(data) > TEXT_PART_LIMIT:
            cut = data.rfind(b"\n", 0, TEXT_PART_LIMIT)
            part.set_payload(data[: cut if cut > 0 else TEXT_PART_LIMIT])
            del part["Content-Transfer-Encoding"]
            part["Content-Transfer-Encoding"] = "8bit"


def _leaf_parts(msg: Message) -> Iterator[Message]:
    """Leaf parts of the reply itself; attached or returned messages are not descended into."""
    stack = [msg]
    while stack:
        part = stack.pop()
        if part.get_content_maintype() == "message":
            continue
        if part.is_multipart():
            stack.extend(reversed(part.get_payload()))
        else:
            yield part


def _is_attachment(part: Message, name: str | None) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    # Phone clients send photos inline, with a name and without a disposition.
    return part.get_content_maintype() not in ("text", "multipart") and (bool(name) or disposition == "inline")


def _original_name(name: str | None) -> str:
    """The name as the sender gave it, for people to read: decoded, without any folder part."""
    name = _decoded(name) if name else ""
    return one_line(re.split(r"[\\/]", name)[-1], 120)
