"""Prefect task of the triage stage; the work is in `new_cases.py` and `rules.py`."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.triage.new_cases import TriageResult, triage_new_cases


@task(name="triage-new-cases", cache_policy=NO_CACHE)
def triage_task(settings: Settings, as_of: datetime, run_id: str) -> TriageResult:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return triage_new_cases(wh, resources.roster, as_of, run_id)
