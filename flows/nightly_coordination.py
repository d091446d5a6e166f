"""Flow `nightly-coordination`: the night's stages in order, then a summary for coordinators."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.assign_owning_units import assign_owning_units
from flows.chase_deadlines import chase_deadlines
from flows.look_back import follow_up_checks
from flows.naming import current_run_id, run_name
from flows.pull_new_cases import pull_new_cases
from flows.triage_new_cases import triage_new_cases
from liandong.clock import resolve_as_of
from liandong.settings import load_settings
from tasks.summary import write_nightly_summary
from tasks.summary.nightly import NightlyResults


@flow(name="nightly-coordination", flow_run_name=run_name("nightly"), log_prints=True)
def nightly_coordination(as_of: datetime | None = None) -> NightlyResults:
    as_of = resolve_as_of(as_of)
    results = NightlyResults()
    results.intake = pull_new_cases(as_of)
    results.triage = triage_new_cases(as_of)
    results.assignment = assign_owning_units(as_of)
    results.chase = chase_deadlines(as_of)
    results.lookback = follow_up_checks(as_of)
    write_nightly_summary(load_settings(), results, as_of, current_run_id())
    return results


if __name__ == "__main__":
    nightly_coordination()
