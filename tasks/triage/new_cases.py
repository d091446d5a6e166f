"""Triage: every `new` case becomes `triaged` (category, urgency) or `rejected` (out of scope,
or a likely duplicate linked to the case it repeats — linked, never silently dropped)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyarrow as pa

from liandong.clock import naive_utc
from liandong.roster import Roster
from tasks.triage.rules import DuplicateFinder, TriageRules
from warehouse.store import Warehouse


@dataclass
class TriageResult:
    triaged: int = 0
    rejected_out_of_scope: int = 0
    duplicates: int = 0
    uncategorised: int = 0
    by_category: dict[str, int] = field(default_factory=dict)


def triage_new_cases(wh: Warehouse, roster: Roster, as_of: datetime, run_id: str) -> TriageResult:
    now = naive_utc(as_of)
    rules = TriageRules(roster)
    cases = wh.rows("SELECT case_id, title, description, category, urgency, address, received_at "
                    "FROM cases WHERE status = 'new' ORDER BY received_at, case_id")
    result = TriageResult()
    if not cases:
        return result
    window = roster.triage.duplicate_window_days
    dupes = DuplicateFinder(window)
    since = min(c["received_at"] for c in cases) - timedelta(days=window)
    for earlier in wh.rows("SELECT case_id, category, address, received_at FROM cases WHERE status NOT IN "
                           "('new', 'rejected') AND received_at >= ?", [since]):
        dupes.remember(earlier["case_id"], earlier["category"], earlier["address"], earlier["received_at"])

    updates, events = [], []
    for case in cases:
        verdict = rules.judge(case["title"], case["description"], case["category"], case["urgency"])
        detail = {"category": verdict.category, "category_reason": verdict.category_reason,
                  "urgency": verdict.urgency, "urgency_reason": verdict.urgency_reason}
        original = None if verdict.out_of_scope else dupes.original_of(
            case["case_id"], verdict.category, case["address"], case["received_at"])
        if verdict.out_of_scope:
            status, kind, reason = "rejected", "rejected", verdict.out_of_scope
            result.rejected_out_of_scope += 1
        elif original:
            status, kind = "rejected", "duplicate_linked"
            reason = f"疑似重复，已关联 {original} / likely duplicate of {original}"
            result.duplicates += 1
        else:
            status, kind, reason = "triaged", "triaged", verdict.category_reason
            dupes.remember(case["case_id"], verdict.category, case["address"], case["received_at"])
            result.triaged += 1
            result.uncategorised += verdict.category is None
            key = verdict.category or "(none)"
            result.by_category[key] = result.by_category.get(key, 0) + 1
        updates.append({"case_id": case["case_id"], "category": verdict.category, "urgency": verdict.urgency,
                        "status": status, "status_reason": None if status == "triaged" else reason,
                        "duplicate_of": original})
        events.append({"case_id": case["case_id"], "occurred_at": now, "actor": "system", "kind": kind,
                       "from_status": "new", "to_status": status, "reason": reason,
                       "detail": json.dumps(detail, ensure_ascii=False), "run_id": run_id})

    with wh.transaction():
        wh.con.register("_triage", pa.Table.from_pylist(updates))
        try:
            wh.execute(
                "UPDATE cases SET category = t.category, urgency = t.urgency, status = t.status, "
                "status_reason = t.status_reason, duplicate_of = t.duplicate_of, updated_at = ? "
                "FROM _triage t WHERE cases.case_id = t.case_id AND cases.status = 'new'", [now])
        finally:
            wh.con.unregister("_triage")
        wh.append("case_events", events)
    return result
