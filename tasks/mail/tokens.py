"""Signed reply tokens: `Reply-To: reply+TOKEN@<reply_domain>`.

A reply comes back to the address we gave, so the token tells the inbound side what the reply
is about without trusting anything else in the message. The token is 24 bytes as lowercase
unpadded base32 (39 characters, local part 45 ≤ 64): some servers lowercase local parts, and
base32 survives that.

    version(1) purpose(1) case year(2) case serial(4) assignment n(2) unit fingerprint(4)
    HMAC-SHA256(secret, domain ‖ the 14 bytes above)[:10]

Case `LD-2026-000123` and assignment `LD-2026-000123/2` are packed as numbers; a message about
no single case (a claim list) carries zeros. The unit is bound through a 4-byte fingerprint:
`claims.is_for_unit(unit_id)` checks it, the address alone does not reveal the unit id. An
80-bit MAC cannot be guessed, but anyone who sees the mail can reuse it, so the inbound side
must still check that the sender is a contact of that unit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from typing import Protocol

# Append only: a purpose's number is part of every token already sent.
PURPOSES: tuple[str, ...] = (
    "assignment", "claim_list", "reminder", "lookback", "meeting", "followup", "notice",
)

_VERSION = 1
_LAYOUT = struct.Struct(">BBHIH4s")
_MAC_BYTES = 10
_TOKEN_BYTES = _LAYOUT.size + _MAC_BYTES
_TOKEN_CHARS = -(-_TOKEN_BYTES * 8 // 5)  # base32 without padding
_MAC_DOMAIN = b"liandong/reply-token/v1\x00"
_CASE_ID = re.compile(r"LD-(\d{4})-(\d{6})")
_ASSIGNMENT_ID = re.compile(r"(LD-\d{4}-\d{6})/(\d{1,5})")
_IN_ADDRESS = re.compile(rf"reply\+([a-z2-7]{{{_TOKEN_CHARS}}})@", re.IGNORECASE)
_BARE = re.compile(rf"[a-z2-7]{{{_TOKEN_CHARS}}}", re.IGNORECASE)


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


Secret = str | bytes | _Secret


@dataclass(frozen=True)
class ReplyClaims:
    """What a verified token says."""

    purpose: str
    case_id: str | None
    assignment_id: str | None
    unit_fingerprint: bytes

    def is_for_unit(self, unit_id: str | None) -> bool:
        return hmac.compare_digest(self.unit_fingerprint, _unit_fingerprint(unit_id))


def make_reply_token(secret: Secret, *, purpose: str, case_id: str | None = None,
                     assignment_id: str | None = None, unit_id: str | None = None) -> str:
    """The token for one message. Raises ValueError on an unknown purpose or a malformed id."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown reply purpose {purpose!r}; add it to tokens.PURPOSES")
    year, serial = _split_case(case_id)
    n = _split_assignment(assignment_id, case_id)
    payload = _LAYOUT.pack(_VERSION, PURPOSES.index(purpose), year, serial, n, _unit_fingerprint(unit_id))
    return _encode(payload + _mac(secret, payload))


def reply_address(token: str, domain: str) -> str:
    return f"reply+{token}@{domain}"


def read_reply_token(secret: Secret, address_or_token: str) -> ReplyClaims | None:
    """Claims of a token, given bare or inside any address (`Name <reply+…@…>`), in any letter
    case; None when it is malformed or its MAC does not verify (compared in constant time)."""
    token = _find_token(address_or_token)
    if token is None:
        return None
    try:
        raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
    except binascii.Error:
        return None
    if _encode(raw) != token.lower():
        return None  # the last character's unused bits were not zero: not a token we made
    payload, mac = raw[:_LAYOUT.size], raw[_LAYOUT.size:]
    if len(raw) != _TOKEN_BYTES or not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    version, purpose_no, year, serial, n, unit_fp = _LAYOUT.unpack(payload)
    if version != _VERSION or purpose_no >= len(PURPOSES):
        return None
    case_id = f"LD-{year:04d}-{serial:06d}" if year else None
    return ReplyClaims(
        purpose=PURPOSES[purpose_no],
        case_id=case_id,
        assignment_id=f"{case_id}/{n}" if case_id and n else None,
        unit_fingerprint=unit_fp,
    )


def _encode(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def _find_token(text: str) -> str | None:
    text = text.strip()
    if _BARE.fullmatch(text):
        return text
    found = _IN_ADDRESS.search(text)
    return found.group(1) if found else None


def _split_case(case_id: str | None) -> tuple[int, int]:
    if case_id is None:
        return 0, 0
    m = _CASE_ID.fullmatch(case_id)
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"case id {case_id!r} is not LD-<year>-<six digits>")
    return int(m.group(1)), int(m.group(2))


def _split_assignment(assignment_id: str | None, case_id: str | None) -> int:
    if assignment_id is None:
        return 0
    m = _ASSIGNMENT_ID.fullmatch(assignment_id)
    if not m or m.group(1) != case_id or not 0 < int(m.group(2)) < 2**16:
        raise ValueError(f"assignment id {assignment_id!r} is not <case id>/<n> of case {case_id!r}")
    return int(m.group(2))


def _unit_fingerprint(unit_id: str | None) -> bytes:
    return hashlib.sha256(unit_id.encode()).digest()[:4] if unit_id else bytes(4)


def _mac(secret: Secret, payload: bytes) -> bytes:
    return hmac.new(_key(secret), _MAC_DOMAIN + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _key(secret: Secret) -> bytes:
    if isinstance(secret, bytes):
        return secret
    if isinstance(secret, str):
        return secret.encode()
    return secret.get_secret_value().encode()

