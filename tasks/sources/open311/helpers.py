"""Open311 GeoReport v2 requests: time windows and the HTTP call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import httpx

from .settings import MAX_WINDOW


def windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    while start < end:
        stop = min(start + MAX_WINDOW, end)
        yield start, stop
        start = stop


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_requests(client: httpx.Client, base_url: str, start: datetime, end: datetime,
                 jurisdiction_id: str | None) -> list[dict[str, Any]]:
    params = {"start_date": iso(start), "end_date": iso(end)}
    if jurisdiction_id:
        params["jurisdiction_id"] = jurisdiction_id
    response = client.get(f"{base_url.rstrip('/')}/requests.json", params=params)
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, list):
        raise ValueError("Open311 应答应为 JSON 数组 / the Open311 answer must be a JSON array")
    return data
