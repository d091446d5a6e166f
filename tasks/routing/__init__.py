"""Prefect tasks of the assignment stage; the work is in the plain modules beside this file."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.mail.outbox import QueueReport, queue_drafts
from tasks.routing.assign import RoutingResult, reroute, route_triaged_cases
from tasks.routing.notices import assignment_notices, claim_list_digests


@task(name="route-cases", cache_policy=NO_CACHE)
def route_cases_task(settings: Settings, as_of: datetime, run_id: str) -> RoutingResult:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        result = route_triaged_cases(wh, resources.roster, resources.calendar, as_of, run_id)
        again = reroute(wh, resources.roster, resources.calendar, as_of, run_id)
    result.rerouted, result.needs_meeting = again.rerouted, result.needs_meeting + again.needs_meeting
    result.problems += again.problems
    result.decisions += again.decisions
    return result


@task(name="queue-assignment-notices", cache_policy=NO_CACHE)
def queue_notices_task(settings: Settings, as_of: datetime) -> QueueReport:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        drafts = assignment_notices(wh, resources.roster) + claim_list_digests(wh, resources.roster)
        return queue_drafts(wh, resources.composer, drafts, as_of)
