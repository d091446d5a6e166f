"""Flow `triage-new-cases`: category, urgency, out of scope and duplicates for every new case."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.naming import current_run_id, run_name
from liandong.clock import resolve_as_of
from liandong.resources import writing_run
from liandong.settings import load_settings
from tasks.triage import triage_task
from tasks.triage.new_cases import TriageResult
from tasks.summary import stand_alone, write_run_summary
from tasks.summary.run import RunResults


@flow(name="triage-new-cases", flow_run_name=run_name("triage"), log_prints=True)
def triage_new_cases(as_of: datetime | None = None) -> TriageResult:
    with writing_run():  # one writer slot and one warehouse connection for the whole run
        settings, as_of, run_id = load_settings(), resolve_as_of(as_of), current_run_id()
        result = triage_task(settings, as_of, run_id)
        print(f"triage: {result.triaged} triaged, {result.rejected_out_of_scope} out of scope, "
              f"{result.duplicates} likely duplicates")
        if stand_alone():
            write_run_summary(settings, "triage", RunResults(triage=result), as_of, run_id)
        return result
