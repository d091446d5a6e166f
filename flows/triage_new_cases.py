"""Flow `triage-new-cases`: category, urgency, out of scope and duplicates for every new case."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.naming import current_run_id, run_name
from liandong.clock import resolve_as_of
from liandong.settings import load_settings
from tasks.triage import triage_task
from tasks.triage.new_cases import TriageResult


@flow(name="triage-new-cases", flow_run_name=run_name("triage"), log_prints=True)
def triage_new_cases(as_of: datetime | None = None) -> TriageResult:
    result = triage_task(load_settings(), resolve_as_of(as_of), current_run_id())
    print(f"triage: {result.triaged} triaged, {result.rejected_out_of_scope} out of scope, "
          f"{result.duplicates} likely duplicates")
    return result
