"""Landing validated rows in the warehouse: new cases, their `received` events, quarantine,
and the source's bookkeeping (file seen, or Open311 watermark) in ONE transaction, so a crash
leaves either all of a batch or none of it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
        wh.append("cases", [_case_row(cid, case, community, grid, now) for cid, (_, case, community, grid) in zip(ids, fresh)])
        wh.append("case_events", [
            {"case_id": cid, "occurred_at": now, "actor": "system", "kind": "received", "from_status": None,
             "to_status": "new", "reason": row.location, "run_id": run_id}
            for cid, (row, _, _, _) in zip(ids, fresh)
        ])
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


def _case_row(case_id: str, case: CaseRow, community: str, grid: str | None, now: datetime) -> dict[str, Any]:
    return {
        "case_id": case_id, "source": case.source, "source_ref": case.source_ref, "channel": case.channel or None,
        "received_at": case.received_at, "title": case.title, "description": case.description,
        "category": case.category or None, "urgency": case.urgency or "normal", "community_id": community,
        "grid_id": grid, "address": case.address or None, "reporter_name": case.reporter_name or None,
        "reporter_phone": case.reporter_phone or None, "status": "new", "created_at": now, "updated_at": now,
    }


def _raw_json(row: RawRow) -> str:
    return json.dumps(row.raw or row.fields, ensure_ascii=False, default=str)[:100_000]
