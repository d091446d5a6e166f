"""Flow `pull-new-cases`: the roster, then every source, into the warehouse."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.naming import current_run_id, run_name
from liandong.clock import resolve_as_of
from liandong.resources import writing_run
from liandong.settings import load_settings
from tasks.intake import pull_drop_folder_task, pull_open311_task, sync_roster_task
from tasks.intake.loading import IntakeResult
from tasks.summary import stand_alone, write_run_summary
from tasks.summary.run import RunResults


@flow(name="pull-new-cases", flow_run_name=run_name("intake"), log_prints=True)
def pull_new_cases(as_of: datetime | None = None) -> list[IntakeResult]:
    with writing_run():  # one writer slot and one warehouse connection for the whole run
        settings, as_of, run_id = load_settings(), resolve_as_of(as_of), current_run_id()
        sync_roster_task(settings)
        results = pull_drop_folder_task(settings, as_of, run_id) + pull_open311_task(settings, as_of, run_id)
        print(f"intake: {sum(r.new_cases for r in results)} new cases, "
              f"{sum(r.quarantined for r in results)} rows quarantined from {len(results)} files/sources")
        if stand_alone():
            write_run_summary(settings, "intake", RunResults(intake=results), as_of, run_id)
        return results
