"""Triage: every `new` case becomes `triaged` (category, urgency) or `rejected` (out of scope,
or a likely duplicate linked to the case it repeats — linked, never silently dropped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyarrow as pa

from liandong.clock import naive_utc
from liandong.roster import Roster
from tasks.triage.rules import DuplicateFinder, TriageRules
from warehouse.store import Warehouse, load_query


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

    updates = []
    for case in cases:
        verdict = rules.judge(case["title"], case["description"], case["category"], case["urgency"])
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
        updates.append((case["case_id"], verdict.category, verdict.urgency, status, kind, reason, original,
                        verdict.category_reason, verdict.urgency_reason))

    names = ["case_id", "category", "urgency", "status", "kind", "reason", "duplicate_of", "category_reason",
             "urgency_reason"]
    verdicts = pa.table(dict(zip(names, map(list, zip(*updates)))))
    with wh.transaction():
        wh.con.register("_triage", verdicts)
        try:
            wh.execute(load_query("triage_apply_verdicts"), {"now": now})
            wh.execute(load_query("triage_record_events"), {"now": now, "run_id": run_id})
        finally:
            wh.con.unregister("_triage")
    return result
