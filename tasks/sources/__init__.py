"""Where cases come from. One folder per source with the same shape (like dlt's verified
sources): `__init__.py` exposes one `read_*` / `pull_*` function that yields `RawRow`s,
`helpers.py` holds the format details, `settings.py` the source's fixed knobs. To add a source,
copy a folder and make it yield `RawRow`s; validation, quarantine and loading are shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class RawRow:
    """One row as the source gave it, before validation."""

    source: str  # e.g. drop:12345热线, open311:city
    location: str  # file and line, or API window: where an operator finds the original
    fields: dict[str, Any]  # canonical field name → raw value (after the column mapping)
    raw: dict[str, Any] = field(default_factory=dict)  # the original columns, for quarantine
    error: str | None = None  # set when the source itself could not read the row


def map_columns(record: dict[str, Any], column_map: dict[str, str]) -> dict[str, Any]:
    """Original column names → canonical field names; unknown columns are kept out."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = column_map.get(str(key).strip().lstrip("\ufeff"))
        if name and (name not in out or out[name] in (None, "")):
            out[name] = value
    return out
