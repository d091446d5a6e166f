"""Reporter data (反映人姓名、电话) is for the lead unit only.

Everyone else — supporting units, claim-list readers, logs, artifacts — sees masked values:
`138****5678`, `王**`. `redact` is applied to every message context unless the draft says
otherwise, so forgetting a flag leaks nothing. Reporters also type their number or name into
the description ("请联系我13812345678"), so redaction masks those occurrences in free text too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REPORTER_NAME = "reporter_name"
REPORTER_PHONE = "reporter_phone"
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")


def mask_phone(phone: str | None) -> str:
    """First three and last four digits of a mobile or landline; shorter numbers keep only the
    last four, very short ones nothing."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) >= 11:
        digits = digits[-11:]
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 7:
        return f"****{digits[-4:]}"
    return "****" if digits else ""


def mask_name(name: str | None) -> str:
    """Keep the first character (usually the family name): 王小明 → 王**, Alice Smith → A*********."""
    name = "".join((name or "").split())
    if len(name) <= 1:
        return "*" if name else ""
    return name[0] + "*" * (len(name) - 1)


def redact(context: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a template context with reporter data masked at any depth."""
    return _redact_mapping(context, ())


_MASKS = {REPORTER_NAME: mask_name, REPORTER_PHONE: mask_phone}


def _redact_mapping(data: Mapping[str, Any], known: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    # Values of this mapping's reporter fields are masked wherever they recur below it; a
    # one-character name is not, or every occurrence of a common character would be.
    known += tuple((v, mask(v)) for k, mask in _MASKS.items() if isinstance(v := data.get(k), str) and len(v) > 1)
    return {key: _MASKS[key](value) if key in _MASKS else _redact_value(value, known) for key, value in data.items()}


def _redact_value(value: Any, known: tuple[tuple[str, str], ...]) -> Any:
    if isinstance(value, str):
        return _redact_text(value, known)
    if isinstance(value, Mapping):
        return _redact_mapping(value, known)
    if isinstance(value, list | tuple):
        return [_redact_value(v, known) for v in value]
    return value


def _redact_text(text: str, known: tuple[tuple[str, str], ...]) -> str:
    text = _MOBILE.sub(lambda m: mask_phone(m.group()), text)
    for raw, masked in known:
        text = text.replace(raw, masked)
    return text
