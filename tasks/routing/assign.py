"""The assignment stage: every triaged case gets one lead unit (牵头) and its supporting units
(协办), goes on the claim list (认领清单) when no rule covers it, or waits for a joint meeting
when no unit can take it. Declined or expired lead assignments move to the next candidate.

Each decision is stored with its reasons (rule, candidates with load, capacity and on-time
record) in `assignments.route_detail` and the case event, so a coordinator can see why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from liandong.clock import naive_utc
from liandong.roster import Policy, Roster
from liandong.workdays import CalendarYearNotCovered, WorkCalendar
from tasks.routing.candidates import Candidate, Router, UnitStats
from warehouse.store import Warehouse, load_query

ON_TIME_WINDOW = timedelta(days=90)


@dataclass
class RoutingResult:
    assigned: int = 0
    supporting: int = 0
    claim_listed: int = 0
    needs_meeting: int = 0
    rerouted: int = 0
    problems: list[str] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # for the run summary


@dataclass
class _Batch:
    now: datetime
    run_id: str
    assignments: list[dict[str, Any]] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    case_updates: list[dict[str, Any]] = field(default_factory=list)

    def event(self, case_id: str, kind: str, from_status: str | None, to_status: str | None, reason: str,
              unit_id: str | None = None, assignment_id: str | None = None, detail: Any = None) -> None:
        self.events.append({"case_id": case_id, "occurred_at": self.now, "actor": "system", "kind": kind,
                            "from_status": from_status, "to_status": to_status, "unit_id": unit_id,
                            "assignment_id": assignment_id, "reason": reason,
                            "detail": json.dumps(detail, ensure_ascii=False) if detail is not None else None,
                            "run_id": self.run_id})

    def move(self, case_id: str, status: str, lead_unit_id: str | None = None, due_at: datetime | None = None) -> None:
        self.case_updates.append({"case_id": case_id, "status": status, "lead_unit_id": lead_unit_id,
                                  "due_at": due_at})

    def write(self, wh: Warehouse) -> None:
        with wh.transaction():
            self.write_in_transaction(wh)

    def write_in_transaction(self, wh: Warehouse) -> None:
        wh.append("assignments", self.assignments)
        wh.append("claim_offers", self.offers)
        wh.append("case_events", self.events)
        if self.case_updates:
            wh.con.register("_moves", pa.Table.from_pylist(self.case_updates))
            try:
                wh.execute(load_query("cases_apply_moves"), {"now": self.now})
            finally:
                wh.con.unregister("_moves")


def unit_stats(wh: Warehouse, as_of: datetime) -> dict[str, UnitStats]:
    rows = wh.query("unit_load_and_record", {"since": naive_utc(as_of) - ON_TIME_WINDOW})
    return {r["unit_id"]: UnitStats(r["open_load"], r["done_recent"], r["on_time_recent"]) for r in rows}


def handling_days(policy: Policy, category: str, urgency: str) -> int:
    """The category's own deadline if set, but never slower than the urgency allows."""
    by_urgency = policy.handling_working_days.get(urgency, policy.handling_working_days.get("normal", 10))
    by_category = policy.category_handling_working_days.get(category)
    return by_urgency if by_category is None else min(by_category, by_urgency) if urgency == "urgent" else by_category


def windows(calendar: WorkCalendar, policy: Policy, as_of: datetime, category: str, urgency: str) -> tuple[datetime, datetime]:
    """(accept_by, due_at) as warehouse timestamps; raises CalendarYearNotCovered loudly."""
    if urgency == "urgent":
        accept_by = calendar.add_working_hours(as_of, policy.urgent_acceptance_hours)
    else:
        accept_by = calendar.deadline(as_of, policy.acceptance_working_days)
    return naive_utc(accept_by), naive_utc(calendar.deadline(as_of, handling_days(policy, category, urgency)))


def route_triaged_cases(wh: Warehouse, roster: Roster, calendar: WorkCalendar, as_of: datetime,
                        run_id: str) -> RoutingResult:
    result, batch = RoutingResult(), _Batch(naive_utc(as_of), run_id)
    stats = unit_stats(wh, as_of)
    router = Router(roster, stats)
    cases = wh.rows("SELECT case_id, category, urgency, community_id FROM cases "
                    "WHERE status = 'triaged' AND category IS NOT NULL ORDER BY received_at, case_id")
    for case in cases:
        route = router.route(case["category"], case["community_id"])
        if route.rule and route.leads:
            try:
                accept_by, due_at = windows(calendar, roster.policy, as_of, case["category"], case["urgency"])
            except CalendarYearNotCovered as exc:
                result.problems.append(f"{case['case_id']}: {exc}")
                continue
            _assign(batch, result, case, route.leads[0], route.supports, route, accept_by, due_at, rank=0)
            for unit_id in [route.leads[0].unit_id, *route.supports]:
                stats[unit_id] = UnitStats(stats.get(unit_id, UnitStats()).open_load + 1,
                                           stats.get(unit_id, UnitStats()).done_recent,
                                           stats.get(unit_id, UnitStats()).on_time_recent)
        elif route.leads:
            _offer(batch, result, case, route.leads, calendar, roster.policy, as_of)
        else:
            batch.move(case["case_id"], "needs_meeting")
            batch.event(case["case_id"], "needs_meeting", "triaged", "needs_meeting",
                        "没有能承办此类事项的成员单位，提交联席会议 / no member unit can take this category: "
                        "for the joint meeting")
            result.needs_meeting += 1
    batch.write(wh)
    return result


def _detail(route, chosen: Candidate) -> dict[str, Any]:
    rule = route.rule
    return {
        "rule": None if rule is None else {"index": route.rule_index, "category": rule.category,
                                           "community": rule.community, "lead": rule.lead,
                                           "support": list(rule.support)},
        "chosen": chosen.unit_id,
        "candidates": [c.as_detail() for c in route.leads],
        "supports": list(route.supports),
    }


def _assign(batch: _Batch, result: RoutingResult, case: dict[str, Any], lead: Candidate, supports: list[str],
            route, accept_by: datetime, due_at: datetime, rank: int, number: int = 1,
            from_status: str = "triaged") -> None:
    case_id = case["case_id"]
    detail = _detail(route, lead)
    why = (f"规则 {route.rule.category}/{route.rule.community} → {route.rule.lead}；"
           f"在办 {lead.open_load}/{lead.capacity}，按期率 {lead.on_time:.0%} / "
           f"rule {route.rule.category}/{route.rule.community} → {route.rule.lead}; "
           f"load {lead.open_load}/{lead.capacity}, on time {lead.on_time:.0%}") if route.rule else "认领 / claimed"
    for i, (unit_id, role) in enumerate([(lead.unit_id, "lead")] + [(u, "support") for u in supports]):
        assignment_id = f"{case_id}/{number + i}"
        batch.assignments.append({
            "assignment_id": assignment_id, "case_id": case_id, "unit_id": unit_id, "role": role,
            "state": "notified", "candidate_rank": rank if role == "lead" else 0, "accept_by": accept_by,
            "due_at": due_at, "route_detail": json.dumps(detail, ensure_ascii=False),
            "created_at": batch.now, "updated_at": batch.now,
        })
        if role == "lead":
            batch.event(case_id, "assigned", from_status, "assigned", why, unit_id, assignment_id, detail)
        else:
            batch.event(case_id, "support_assigned", None, None, "协办 / supporting unit", unit_id, assignment_id)
            result.supporting += 1
    batch.move(case_id, "assigned", lead.unit_id, due_at)
    result.assigned += 1
    result.decisions.append({"case_id": case_id, "lead": lead.unit_id, "supports": supports, "why": why})


def _offer(batch: _Batch, result: RoutingResult, case: dict[str, Any], candidates: list[Candidate],
           calendar: WorkCalendar, policy: Policy, as_of: datetime) -> None:
    """No rule covers the case: offer it to every unit whose resource list matches."""
    try:
        claim_by = naive_utc(calendar.deadline(as_of, max(policy.acceptance_working_days, 1) + 1))
    except CalendarYearNotCovered as exc:
        result.problems.append(f"{case['case_id']}: {exc}")
        return
    for c in candidates:
        batch.offers.append({"case_id": case["case_id"], "unit_id": c.unit_id, "offered_at": batch.now,
                             "claim_by": claim_by, "state": "open"})
    batch.move(case["case_id"], "claim_listed")
    batch.event(case["case_id"], "claim_listed", "triaged", "claim_listed",
                "没有路由规则，列入认领清单 / no routing rule: on the claim list",
                detail={"offered_to": [c.unit_id for c in candidates]})
    result.claim_listed += 1


def take_unclaimed_off_the_claim_list(wh: Warehouse, as_of: datetime, run_id: str) -> int:
    """Cases on the claim list that no unit claimed in time go to the joint meeting (needs_meeting),
    which names a unit; their offers lapse, so a late claim is refused with a reason."""
    batch = _Batch(naive_utc(as_of), run_id)
    unclaimed = wh.query("claim_list_unclaimed", {"now": batch.now})
    for row in unclaimed:
        batch.move(row["case_id"], "needs_meeting")
        batch.event(row["case_id"], "needs_meeting", "claim_listed", "needs_meeting",
                    "认领期限已过，无单位认领，提交联席会议 / nobody claimed it in time: for the joint meeting",
                    detail={"offered_to": list(row["offered_to"])})
    if unclaimed:
        with wh.transaction():
            batch.write_in_transaction(wh)
            wh.con.register("_unclaimed", pa.Table.from_pylist([{"case_id": r["case_id"]} for r in unclaimed]))
            try:
                wh.execute(load_query("claim_offers_expire"))
            finally:
                wh.con.unregister("_unclaimed")
    return len(unclaimed)


def reroute(wh: Warehouse, roster: Roster, calendar: WorkCalendar, as_of: datetime, run_id: str) -> RoutingResult:
    """Cases whose lead assignment was declined or expired and that have no live lead: the next
    candidate not yet asked, or `needs_meeting` when none is left."""
    result, batch = RoutingResult(), _Batch(naive_utc(as_of), run_id)
    router = Router(roster, unit_stats(wh, as_of))
    for row in wh.query("cases_to_reroute"):
        case = {k: row[k] for k in ("case_id", "category", "urgency", "community_id")}
        asked = set(row["asked_units"])
        route = router.route(case["category"], case["community_id"])
        remaining = [c for c in route.leads if c.unit_id not in asked]
        if not remaining:
            batch.move(case["case_id"], "needs_meeting")
            batch.event(case["case_id"], "needs_meeting", row["status"], "needs_meeting",
                        "所有候选单位均已退回或超时，提交联席会议 / every candidate declined or let it expire: "
                        "for the joint meeting", detail={"asked": sorted(asked)})
            result.needs_meeting += 1
            continue
        try:
            accept_by, due_at = windows(calendar, roster.policy, as_of, case["category"], case["urgency"])
        except CalendarYearNotCovered as exc:
            result.problems.append(f"{case['case_id']}: {exc}")
            continue
        _assign(batch, result, case, remaining[0], [], route, accept_by, due_at,
                rank=row["last_rank"] + 1, number=row["assignment_count"] + 1, from_status=row["status"])
        result.rerouted += 1
    batch.write(wh)
    return result


def claim_case(wh: Warehouse, roster: Roster, calendar: WorkCalendar, case_id: str, unit_id: str,
               as_of: datetime, run_id: str) -> str:
    """A unit's claim from the claim list. The first valid claim wins: the claiming unit becomes
    the lead (a claim is an acceptance), the other offers are lost. Returns the outcome."""
    row = wh.rows("SELECT c.case_id, c.category, c.urgency, c.status, o.state AS offer FROM cases c "
                  "LEFT JOIN claim_offers o ON o.case_id = c.case_id AND o.unit_id = ? WHERE c.case_id = ?",
                  [unit_id, case_id])
    if not row or row[0]["offer"] is None:
        return "not_offered"
    if row[0]["offer"] == "expired":  # nobody claimed it in time: the joint meeting decides now
        return "claim_period_over"
    if row[0]["status"] != "claim_listed":
        return "already_taken"
    case = row[0]
    try:
        accept_by, due_at = windows(calendar, roster.policy, as_of, case["category"], case["urgency"])
    except CalendarYearNotCovered as exc:
        return f"calendar: {exc}"
    batch = _Batch(naive_utc(as_of), run_id)
    assignment_id = f"{case_id}/{1 + wh.scalar('SELECT count(*) FROM assignments WHERE case_id = ?', [case_id])}"
    batch.assignments.append({
        "assignment_id": assignment_id, "case_id": case_id, "unit_id": unit_id, "role": "lead", "state": "accepted",
        "candidate_rank": 0, "accept_by": accept_by, "due_at": due_at, "responded_at": batch.now,
        "route_detail": json.dumps({"claimed": True}), "created_at": batch.now, "updated_at": batch.now,
    })
    batch.event(case_id, "claimed", "claim_listed", "in_progress", "认领 / claimed from the claim list",
                unit_id, assignment_id)
    batch.move(case_id, "in_progress", unit_id, due_at)
    with wh.transaction():
        # Re-checked inside the transaction: of two claims in one run, only the first finds it open.
        if wh.scalar("SELECT status FROM cases WHERE case_id = ?", [case_id]) != "claim_listed":
            return "already_taken"
        wh.execute("UPDATE claim_offers SET state = CASE WHEN unit_id = ? THEN 'claimed' ELSE 'lost' END "
                   "WHERE case_id = ?", [unit_id, case_id])
        batch.write_in_transaction(wh)
    return "claimed"
