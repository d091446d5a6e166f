"""Landing validated rows in the warehouse: new cases, their `received` events, quarantine,
and the source's bookkeeping (file seen, or Open311 watermark) in ONE transaction, so a crash
leaves either all of a batch or none of it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from liandong.clock import SHANGHAI, naive_utc
from tasks.intake.validation import CaseRow, Rejected
from tasks.sources import RawRow
from warehouse.store import Warehouse


@dataclass
class IntakeResult:
    source: str
    location: str
    rows_read: int = 0
    new_cases: int = 0
    already_known: int = 0
    quarantined: int = 0
    seen_before: bool = False  # the same file (same bytes) was loaded by an earlier run
    error: str | None = None
    case_ids: list[str] = field(default_factory=list)


def next_case_numbers(wh: Warehouse, year: int, count: int) -> list[str]:
    prefix = f"LD-{year}-"
    last = wh.scalar(
        "SELECT max(CAST(substr(case_id, 9) AS INTEGER)) FROM cases WHERE starts_with(case_id, ?)", [prefix]
    ) or 0
    return [f"{prefix}{n:06d}" for n in range(last + 1, last + 1 + count)]


def known_refs(wh: Warehouse, sources: set[str]) -> set[tuple[str, str]]:
    if not sources:
        return set()
    rows = wh.execute("SELECT source, source_ref FROM cases WHERE source IN (SELECT unnest(?))", [sorted(sources)])
    return set(rows.fetchall())


def load_batch(wh: Warehouse, good: list[tuple[RawRow, CaseRow, str, str | None]], bad: list[Rejected],
               as_of: datetime, run_id: str, result: IntakeResult,
               file_record: dict[str, Any] | None = None, watermark: tuple[str, datetime] | None = None) -> IntakeResult:
    now = naive_utc(as_of)
    with wh.transaction():
        seen = known_refs(wh, {case.source for _, case, _, _ in good})
        fresh = []
        for item in good:
            key = (item[1].source, item[1].source_ref)
            if key in seen:
                result.already_known += 1
                continue
            seen.add(key)
            fresh.append(item)
        ids = next_case_numbers(wh, as_of.astimezone(SHANGHAI).year, len(fresh))
        wh.append("cases", _cases_table(ids, fresh, now))
        wh.append("case_events", pa.table({
            "case_id": ids, "occurred_at": pa.repeat(pa.scalar(now), len(ids)), "actor": ["system"] * len(ids),
            "kind": ["received"] * len(ids), "to_status": ["new"] * len(ids),
            "reason": [row.location for row, _, _, _ in fresh], "run_id": [run_id] * len(ids),
        }))
        wh.append("quarantine", [
            {"source": r.row.source, "source_ref": str(r.row.fields.get("source_ref") or "")[:128] or None,
             "location": r.row.location, "raw": _raw_json(r.row), "reason": r.reason, "run_id": run_id,
             "quarantined_at": now}
            for r in bad
        ], skip_existing=True)
        if file_record:
            wh.append("source_files", [{**file_record, "rows_new": len(fresh), "rows_quarantined": len(bad),
                                        "processed_at": now}], skip_existing=True)
        if watermark:
            wh.execute(
                "INSERT INTO source_watermarks VALUES (?, ?, ?) ON CONFLICT (source) DO UPDATE "
                "SET watermark = excluded.watermark, updated_at = excluded.updated_at",
                [watermark[0], watermark[1], now],
            )
    result.new_cases += len(fresh)
    result.quarantined += len(bad)
    result.case_ids += ids
    return result


def _cases_table(ids: list[str], fresh: list[tuple[RawRow, CaseRow, str, str | None]], now: datetime) -> pa.Table:
    """Column by column: 100k rows build in a fraction of the time a list of dicts takes."""
    cases = [case for _, case, _, _ in fresh]

    def column(name: str) -> list[str | None]:
        return [getattr(c, name) or None for c in cases]

    n = len(ids)
    return pa.table({
        "case_id": ids, "source": [c.source for c in cases], "source_ref": [c.source_ref for c in cases],
        "channel": column("channel"), "received_at": [c.received_at for c in cases],
        "title": [c.title for c in cases], "description": [c.description for c in cases],
        "category": column("category"), "urgency": [c.urgency or "normal" for c in cases],
        "community_id": [community for _, _, community, _ in fresh], "grid_id": [grid for _, _, _, grid in fresh],
        "address": column("address"), "reporter_name": column("reporter_name"),
        "reporter_phone": column("reporter_phone"), "status": ["new"] * n,
        "created_at": pa.repeat(pa.scalar(now), n), "updated_at": pa.repeat(pa.scalar(now), n),
    })


def _raw_json(row: RawRow) -> str:
    return json.dumps(row.raw or row.fields, ensure_ascii=False, default=str)[:100_000]
