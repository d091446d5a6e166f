"""The bytes of one outbound message: headers from plain `str`, a multipart/alternative body.

Why not `EmailMessage`: building and flattening one two-part message with `policy.SMTP` took
3.6 ms here (compat32 `MIMEMultipart`: 0.9 ms, `email.header.Header.encode` alone 0.06 ms per
header), which would cap the pipeline at a fraction of what the SMTP connections carry. Every
outbound message has the same shape, so this module writes it directly: base64 bodies, and
non-ASCII header text as RFC 2047 B encoded-words of at most 39 UTF-8 bytes (never splitting a
character), one per folded line. Tests parse every shape back with the stdlib parser, including
a property test over arbitrary text.

Safety: header values are built only from `str` that went through `header_text` (control and
line-separator characters removed, length capped) or from validated addresses; nothing here
copies a parsed header, so CVE-2024-6923 (Python 3.11.7 re-serialising decoded CR/LF) does not
apply. Bodies are base64, whose alphabet cannot contain the boundary (it has `_` and `.`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from email.header import Header
from functools import lru_cache

# Controls, line and paragraph separators, and lone surrogates (which cannot be encoded).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")
_SPACES = re.compile(r"\s{2,}")
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
_LINE = 76
_WORD_BYTES = 39  # base64 of 39 bytes is 52 characters: every folded line stays under 78
_METHOD = re.compile(r"^METHOD:([A-Z-]+)\r?$", re.MULTILINE)
CRLF = "\r\n"


def header_text(value: str, limit: int) -> str:
    """User text made fit for a header: control characters (CR and LF among them) become spaces,
    runs of spaces one, at most `limit` characters."""
    value = _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


def check_address(address: str) -> str:
    """An ASCII addr-spec (no SMTPUTF8), lowercased; ValueError otherwise."""
    if len(address) > 254 or not _ADDRESS.fullmatch(address) or len(address.split("@")[0]) > 64:
        raise ValueError(f"not a usable e-mail address: {address!r}")
    return address.lower()


def encode_header(name: str, value: str) -> str:
    """RFC 2047 where needed, folded to 78 columns with CRLF continuation lines. ASCII text that
    looks like an encoded-word is encoded too, so a client never decodes what a user typed."""
    if _plain(value):
        return Header(value, "us-ascii", header_name=name).encode(linesep=CRLF)
    return _encoded_words(value)


def mailbox(display_name: str, address: str) -> str:
    """`Name <addr>`; the name is quoted (ASCII) or encoded (anything else)."""
    address = check_address(address)
    if not display_name:
        return address
    name = _display_name(display_name)
    # Fold before the address when the line would pass 78 columns ("Reply-To: " included).
    last_line = name.rsplit("\n", 1)[-1]
    return f"{name}{CRLF if len(last_line) + len(address) > 62 else ''} <{address}>"


def mailbox_list(mailboxes: Sequence[tuple[str, str]]) -> str:
    return ",\r\n ".join(mailbox(name, address) for name, address in mailboxes)


@lru_cache(maxsize=4096)
def _display_name(name: str) -> str:
    # Contacts recur across a batch; their encoded names are worth keeping.
    if not _plain(name):
        return _encoded_words(name)
    if _SPECIALS.search(name):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name


def _plain(text: str) -> bool:
    return text.isascii() and "=?" not in text


def _encoded_words(text: str) -> str:
    data = text.encode("utf-8")
    words, start = [], 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a UTF-8 sequence
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start = end
    return "\r\n ".join(words)


def build_message(headers: Sequence[tuple[str, str]], text: str, html: str, boundary: str,
                  calendar: str | None = None) -> bytes:
    """Header lines (already encoded), then text/plain and text/html as multipart/alternative.

    With `calendar` (an iCalendar object carrying a METHOD), the message is an iMIP invitation
    in the shape calendar services send: multipart/mixed around the alternative, which gains a
    third part `text/calendar; method=…` (Outlook reads this one), and the same object as an
    `invite.ics` attachment (for clients that only offer attachments)."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers) + "MIME-Version: 1.0\r\n"
    if calendar is None:
        return head.encode("ascii") + _alternative(boundary, text, html)
    method = calendar_method(calendar)
    # Neither boundary is a prefix of the other, so no delimiter line can be read as the other's.
    mixed = f"=_mix{boundary}"
    return b"".join([
        f'{head}Content-Type: multipart/mixed;\r\n boundary="{mixed}"\r\n\r\n--{mixed}\r\n'.encode("ascii"),
        _alternative(boundary, text, html,
                     (f'text/calendar; charset="utf-8"; method={method}', calendar)),
        f'--{mixed}\r\nContent-Type: application/ics; name="invite.ics"\r\n'
        f'Content-Disposition: attachment; filename="invite.ics"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n".encode("ascii"),
        _base64_lines(calendar),
        f"--{mixed}--\r\n".encode("ascii"),
    ])


def calendar_method(calendar: str) -> str:
    """The iTIP METHOD of an iCalendar object (REQUEST, CANCEL …): the MIME part must repeat it,
    or Outlook ignores the invitation. ValueError when there is none."""
    found = _METHOD.search(calendar)
    if not found:
        raise ValueError("an iCalendar object sent by mail needs a METHOD (REQUEST, CANCEL …)")
    return found.group(1)


def _alternative(boundary: str, text: str, html: str, *more: tuple[str, str]) -> bytes:
    parts = [f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'.encode("ascii")]
    for content_type, body in (('text/plain; charset="utf-8"', text), ('text/html; charset="utf-8"', html), *more):
        parts.append(f"--{boundary}\r\nContent-Type: {content_type}\r\n"
                     f"Content-Transfer-Encoding: base64\r\n\r\n".encode("ascii"))
        parts.append(_base64_lines(body))
    parts.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(parts)


def _base64_lines(body: str) -> bytes:
    # Text parts are canonical CRLF (RFC 2046 §4.1.1) before they are encoded; a lone surrogate
    # (from a JSON "\ud800" escape) becomes "?" rather than failing the message. One b2a call
    # and slicing is 3x faster than base64.encodebytes, which loops in Python per line.
    data = body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace")
    encoded = binascii.b2a_base64(data, newline=False)
    return b"\r\n".join([encoded[i : i + _LINE] for i in range(0, len(encoded), _LINE)]) + b"\r\n"
