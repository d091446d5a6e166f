"""Flow `nightly-coordination`: the night's stages in order, then a summary for coordinators."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, tags
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from flows.assign_owning_units import assign_owning_units
from flows.chase_deadlines import chase_deadlines
from flows.convene_joint_meeting import convene_joint_meeting
from flows.ingest_replies import ingest_replies_flow
from flows.look_back import follow_up_checks
from flows.naming import current_run_id, run_name
from flows.pull_new_cases import pull_new_cases
from flows.triage_new_cases import triage_new_cases
from liandong.clock import resolve_as_of
from liandong.locking import warehouse_writer
from liandong.settings import load_settings
from tasks.meetings import meetings_due_task
from tasks.meetings.summary import convened_line
from tasks.summary import write_run_summary
from tasks.summary.run import RunResults


def convene_due_meetings(as_of: datetime) -> list[str]:
    """Regular meetings whose invitations are due and ad-hoc ones urgent cases call for (after
    chasing, so tonight's escalations count). One meeting that cannot be convened is reported
    and the others go on."""
    settings = load_settings()
    due = meetings_due_task(settings, as_of)
    calls = [(m.community_id, m.starts_at, "regular") for m in due.regular] + [(c, None, "adhoc") for c in due.adhoc]
    lines = []
    for community, starts_at, kind in calls:
        with tags(f"community:{community}"):
            state = convene_joint_meeting(community, starts_at=starts_at, kind=kind, as_of=as_of, return_state=True)
        if state.is_completed():
            report, _ = state.result()
            lines.append(convened_line(report.convened, report.queued.queued, settings.locale))
        else:
            lines.append(f"⚠ {community} {kind}: {state.message}")
    return lines


@flow(name="nightly-coordination", flow_run_name=run_name("nightly"), log_prints=True)
def nightly_coordination(as_of: datetime | None = None) -> RunResults:
    with warehouse_writer():  # one writer slot for the whole run, not one per task
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
