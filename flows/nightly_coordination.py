"""Flow `nightly-coordination`: the night's stages in order, then a summary for coordinators."""

from __future__ import annotations

from datetime import datetime

from prefect import flow
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from flows.assign_owning_units import assign_owning_units
from flows.chase_deadlines import chase_deadlines
from flows.ingest_replies import ingest_replies_flow
from flows.look_back import follow_up_checks
from flows.naming import current_run_id, run_name
from flows.pull_new_cases import pull_new_cases
from flows.triage_new_cases import triage_new_cases
from liandong.clock import resolve_as_of
from liandong.resources import writing_run
from liandong.settings import load_settings
from tasks.mail import deliver_outbox_task
from tasks.meetings import convene_due_meetings_task
from tasks.meetings.summary import convened_line
from tasks.summary import write_run_summary
from tasks.summary.run import RunResults


def convene_due_meetings(as_of: datetime) -> list[str]:
    """Tonight's regular and ad-hoc meetings, in one task however many communities; their
    invitations go out with the rest of the night's mail."""
    settings = load_settings()
    tonight = convene_due_meetings_task(settings, as_of)
    deliver_outbox_task(settings, as_of)
    return [convened_line(r.convened, r.queued.queued, settings.locale) for r in tonight.reports] + tonight.failures


@flow(name="nightly-coordination", flow_run_name=run_name("nightly"), log_prints=True)
def nightly_coordination(as_of: datetime | None = None) -> RunResults:
    with writing_run():  # one writer slot and one warehouse connection for the whole run
        as_of = resolve_as_of(as_of)
        results = RunResults()
        # Coordinators watching a long night see how far it has got.
        progress = create_progress_artifact(0.0, description="夜间运行进度 / nightly progress")
        stages = [
            ("intake", lambda: pull_new_cases(as_of)),
            ("triage", lambda: triage_new_cases(as_of)),
            # Replies before routing: tonight's declines are re-routed tonight.
            ("replies", lambda: ingest_replies_flow(as_of)),
            ("assignment", lambda: assign_owning_units(as_of)),
            ("chase", lambda: chase_deadlines(as_of)),
            ("lookback", lambda: follow_up_checks(as_of)),
            ("meetings", lambda: convene_due_meetings(as_of)),
        ]
        for done, (name, stage) in enumerate(stages, start=1):
            setattr(results, name, stage())
            update_progress_artifact(progress, 100.0 * done / (len(stages) + 1))
        write_run_summary(load_settings(), "nightly", results, as_of, current_run_id())
        update_progress_artifact(progress, 100.0)
        return results


if __name__ == "__main__":
    nightly_coordination()
