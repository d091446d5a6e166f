"""Prefect tasks of the chasing stage (one task per step, whatever the number of cases); the
work is in the plain modules beside this file:

    expiry.py     acceptance windows: expire, re-route, queue the new assignment notices
    extension.py  extensions (延期) approved by a coordinator, and their notices
    ladder.py     which rung applies tonight: reminder, due today, overdue, escalation
    chasing.py    one night of the ladder: items, emails (digests), the ledger and events
    notices.py    the ladder's drafts;  chair.py  the rotating chair;  gaps.py  calendar gaps
    report.py     the coordinators' table of overdue and escalated cases
"""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.chase.chasing import LadderResult, chase_ladder
from tasks.chase.expiry import ExpiryResult, expire_unaccepted
from tasks.chase.extension import ExtensionRequest, ExtensionsResult, grant_extensions
from tasks.chase.report import overdue_table


@task(name="expire-unaccepted", cache_policy=NO_CACHE)
def expire_unaccepted_task(settings: Settings, as_of: datetime, run_id: str) -> ExpiryResult:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return expire_unaccepted(wh, resources.roster, resources.calendar, resources.composer, as_of, run_id)


@task(name="grant-extensions", cache_policy=NO_CACHE)
def grant_extensions_task(settings: Settings, requests: list[ExtensionRequest], as_of: datetime,
                          run_id: str) -> ExtensionsResult:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return grant_extensions(wh, resources.roster, resources.calendar, resources.composer, requests, as_of, run_id)


@task(name="chase-ladder", cache_policy=NO_CACHE)
def chase_ladder_task(settings: Settings, as_of: datetime, run_id: str) -> LadderResult:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return chase_ladder(wh, resources.roster, resources.calendar, resources.composer, as_of, run_id)


@task(name="overdue-table", cache_policy=NO_CACHE)
def overdue_table_task(settings: Settings, as_of: datetime) -> list[dict[str, str]]:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return overdue_table(wh, resources.roster, resources.calendar, as_of, settings.locale)
