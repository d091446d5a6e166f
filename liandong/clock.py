"""Time. Every flow takes `as_of` (default: now) and passes it down; nothing else reads the wall
clock, which makes tests, the demo's simulated weeks and backfills possible. The warehouse stores
naive UTC; people see Asia/Shanghai."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def resolve_as_of(as_of: datetime | None) -> datetime:
    """An aware datetime: the given moment (naive = Asia/Shanghai, as a coordinator types it) or now."""
    if as_of is None:
        return datetime.now(timezone.utc)
    return as_of if as_of.tzinfo else as_of.replace(tzinfo=SHANGHAI)


def naive_utc(dt: datetime) -> datetime:
    """The warehouse's convention; a naive input is taken as UTC already."""
    return dt.astimezone(timezone.utc).replace(tzinfo=None) if dt.tzinfo else dt


def local(dt: datetime) -> datetime:
    """A warehouse timestamp (naive UTC) or an aware one, in Asia/Shanghai."""
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(SHANGHAI)
