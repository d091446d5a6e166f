"""Prefect tasks of the intake stage; the work is in the plain modules beside this file."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.intake.loading import IntakeResult
from tasks.intake.pull import pull_drop_folder, pull_open311_sources
from tasks.roster.sync import sync_roster


@task(name="sync-roster", cache_policy=NO_CACHE)
def sync_roster_task(settings: Settings) -> dict[str, int]:
    resources = Resources(settings)
    roster = resources.roster  # a bad roster fails here, before the warehouse is touched
    with resources.warehouse() as wh:
        return sync_roster(wh, roster)


@task(name="pull-drop-folder", cache_policy=NO_CACHE)
def pull_drop_folder_task(settings: Settings, as_of: datetime, run_id: str) -> list[IntakeResult]:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return pull_drop_folder(wh, settings, resources.roster, as_of, run_id)


@task(name="pull-open311", cache_policy=NO_CACHE)
def pull_open311_task(settings: Settings, as_of: datetime, run_id: str) -> list[IntakeResult]:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return pull_open311_sources(wh, settings, resources.roster, as_of, run_id)
