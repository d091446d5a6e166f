"""Assignments not accepted within their window expire (state `expired` and an event); a lead
assignment that expired is re-routed to the next candidate, or the case goes to a joint meeting
(`tasks.routing.assign.reroute`). Claim-list cases nobody claimed by their claim-by time go to
the joint meeting too. The notices of the new assignments are queued here too, so a
re-routed case does not wait a night for the assignment stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from liandong.clock import naive_utc
from liandong.roster import Roster
from liandong.workdays import WorkCalendar
from tasks.mail.compose import Composer
from tasks.mail.outbox import QueueReport, queue_drafts
from tasks.routing.assign import reroute, take_unclaimed_off_the_claim_list
from tasks.routing.notices import assignment_notices
from warehouse.store import Warehouse, load_query


@dataclass
class ExpiryResult:
    expired_leads: int = 0
    expired_supports: int = 0
    rerouted: int = 0
    needs_meeting: int = 0
    unclaimed: int = 0  # taken off the claim list for the joint meeting
    notices: QueueReport = field(default_factory=QueueReport)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # re-routing decisions, for the summary
    problems: list[str] = field(default_factory=list)


def expire_unaccepted(wh: Warehouse, roster: Roster, calendar: WorkCalendar, composer: Composer,
                      as_of: datetime, run_id: str) -> ExpiryResult:
    result = ExpiryResult()
    params = {"now": naive_utc(as_of), "run_id": run_id}
    with wh.transaction():
        wh.execute(load_query("assignments_expire_events"), params)
        roles = [r[0] for r in wh.execute(load_query("assignments_expire"), {"now": params["now"]}).fetchall()]
    result.expired_leads, result.expired_supports = roles.count("lead"), roles.count("support")
    result.unclaimed = take_unclaimed_off_the_claim_list(wh, as_of, run_id)
    routed = reroute(wh, roster, calendar, as_of, run_id)
    result.rerouted, result.needs_meeting = routed.rerouted, routed.needs_meeting
    result.decisions, result.problems = routed.decisions, routed.problems
    result.notices = queue_drafts(wh, composer, assignment_notices(wh, roster), as_of)
    return result
