"""Flow `chase-deadlines`: expire unaccepted assignments and re-route them, apply extensions a
coordinator approved (the `extensions` form), climb the chasing ladder (reminder → due today →
overdue → escalation), publish the overdue table for coordinators, and send what is due."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows.naming import current_run_id, run_name
from liandong.clock import resolve_as_of
from liandong.resources import writing_run
from liandong.settings import load_settings
from tasks.chase import chase_ladder_task, expire_unaccepted_task, grant_extensions_task, overdue_table_task
from tasks.chase.chasing import LadderResult
from tasks.chase.expiry import ExpiryResult
from tasks.chase.extension import ExtensionRequest, ExtensionsResult
from tasks.mail import deliver_outbox_task
from tasks.mail.delivery import DeliveryReport
from tasks.summary import stand_alone, write_run_summary
from tasks.summary.run import RunResults

OVERDUE_ARTIFACT = "overdue-cases"


@dataclass
class ChaseStage:
    expiry: ExpiryResult = field(default_factory=ExpiryResult)
    extensions: ExtensionsResult = field(default_factory=ExtensionsResult)
    ladder: LadderResult = field(default_factory=LadderResult)
    overdue_cases: int = 0  # rows of the overdue-cases table
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    @property
    def problems(self) -> list[str]:
        """Everything the night's summary must show, bilingual."""
        queued = [self.expiry.notices, self.extensions.queued, self.ladder.queued]
        return [*self.expiry.problems, *self.extensions.refused, *self.ladder.problems,
                *(reason for q in queued for _, reason in q.rejected), *self.delivery.problems]


@flow(name="chase-deadlines", flow_run_name=run_name("chase"), log_prints=True)
def chase_deadlines(as_of: datetime | None = None, extensions: list[ExtensionRequest] | None = None) -> ChaseStage:
    with writing_run():  # one writer slot and one warehouse connection for the whole run
        settings, as_of, run_id = load_settings(), resolve_as_of(as_of), current_run_id()
        stage = ChaseStage()
        stage.expiry = expire_unaccepted_task(settings, as_of, run_id)
        # Before the ladder: a deadline extended tonight gets no overdue notice for the old one.
        stage.extensions = grant_extensions_task(settings, extensions or [], as_of, run_id)
        stage.ladder = chase_ladder_task(settings, as_of, run_id)
        table = overdue_table_task(settings, as_of)
        stage.overdue_cases = len(table)
        create_table_artifact(table=table, key=OVERDUE_ARTIFACT,
                              description="逾期和已升级督办的诉求（按社区、牵头单位） / overdue and escalated cases by community and lead unit")
        stage.delivery = deliver_outbox_task(settings, as_of)
        ladder = stage.ladder
        print(f"chase: {stage.expiry.expired_leads} expired and {stage.expiry.rerouted} re-routed; "
              f"{len(stage.extensions.granted)} extensions; {ladder.reminders} reminders, {ladder.due_today} due today, "
              f"{ladder.overdue} overdue, {ladder.escalated} escalated; {stage.delivery.sent} emails sent"
              + ("" if ladder.working_day else " (not a working day: chase mail waits)"))
        if stand_alone():
            write_run_summary(settings, "chase", RunResults(chase=stage), as_of, run_id)
        return stage
