"""Open311 GeoReport v2 endpoint (`GET requests.json` by start/end windows of at most 90 days).

The watermark — the end of the last window fully read — is kept in the warehouse and moved in
the same transaction as the cases it brought, so a failed pull is simply asked again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx

from liandong.settings import Open311Source

from .. import RawRow, map_columns
from .helpers import get_requests, iso, windows
from .settings import MIN_WINDOW, PAGE_CAP


@dataclass
class Open311Pull:
    source: str
    rows: list[RawRow] = field(default_factory=list)
    watermark: datetime | None = None  # new watermark (UTC, naive) when the pull completed


def pull_open311(config: Open311Source, watermark: datetime | None, as_of: datetime,
                 column_map: dict[str, str], transport: httpx.BaseTransport | None = None) -> Open311Pull:
    """Read every request from the watermark (or `config.start`) up to `as_of`."""
    source = f"open311:{config.name}"
    start = watermark.replace(tzinfo=timezone.utc) if watermark else datetime.fromisoformat(config.start)
    end = as_of.astimezone(timezone.utc)
    pull = Open311Pull(source)
    with httpx.Client(timeout=config.timeout_seconds, transport=transport, follow_redirects=True) as client:
        for lo, hi in windows(start, end):
            _read_window(client, config, lo, hi, column_map, pull)
    pull.watermark = end.replace(tzinfo=None)
    return pull


def _read_window(client: httpx.Client, config: Open311Source, lo: datetime, hi: datetime,
                 column_map: dict[str, str], pull: Open311Pull) -> None:
    records = get_requests(client, config.base_url, lo, hi, config.jurisdiction_id)
    if len(records) >= PAGE_CAP and hi - lo > MIN_WINDOW:
        mid = lo + (hi - lo) / 2
        _read_window(client, config, lo, mid, column_map, pull)
        _read_window(client, config, mid, hi, column_map, pull)
        return
    for i, record in enumerate(records):
        location = f"{iso(lo)}..{iso(hi)}#{i}"
        if not isinstance(record, dict):
            pull.rows.append(RawRow(pull.source, location, {}, {"record": repr(record)[:2000]},
                                    "每条记录应为 JSON 对象 / each record must be a JSON object"))
            continue
        pull.rows.append(RawRow(pull.source, location, map_columns(record, column_map), record))
