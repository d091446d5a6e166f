"""Flow `assign-owning-units`: route triaged cases (and re-route declined or expired ones),
queue the assignment notices and claim-list digests, and send what is due."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from prefect import flow

from flows.naming import current_run_id, run_name
from liandong.clock import resolve_as_of
from liandong.resources import writing_run
from liandong.settings import load_settings
from tasks.mail import deliver_outbox_task
from tasks.mail.delivery import DeliveryReport
from tasks.mail.outbox import QueueReport
from tasks.routing import queue_notices_task, route_cases_task
from tasks.routing.assign import RoutingResult
from tasks.summary import stand_alone, write_run_summary
from tasks.summary.run import RunResults


@dataclass
class AssignmentStage:
    routing: RoutingResult = field(default_factory=RoutingResult)
    queued: QueueReport = field(default_factory=QueueReport)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


@flow(name="assign-owning-units", flow_run_name=run_name("assign"), log_prints=True)
def assign_owning_units(as_of: datetime | None = None) -> AssignmentStage:
    with writing_run():  # one writer slot and one warehouse connection for the whole run
        settings, as_of = load_settings(), resolve_as_of(as_of)
        stage = AssignmentStage()
        stage.routing = route_cases_task(settings, as_of, current_run_id())
        stage.queued = queue_notices_task(settings, as_of)
        stage.delivery = deliver_outbox_task(settings, as_of)
        print(f"assign: {stage.routing.assigned} assigned, {stage.routing.rerouted} re-routed, "
              f"{stage.routing.claim_listed} on the claim list, {stage.routing.needs_meeting} for a meeting; "
              f"{stage.delivery.sent} emails sent")
        if stand_alone():
            write_run_summary(settings, "assignment", RunResults(assignment=stage), as_of, current_run_id())
        return stage
