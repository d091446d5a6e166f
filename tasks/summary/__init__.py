"""The coordinators' Markdown summary at the end of a nightly run."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.summary.nightly import NightlyResults, nightly_summary


@task(name="write-nightly-summary", cache_policy=NO_CACHE)
def write_nightly_summary(settings: Settings, results: NightlyResults, as_of: datetime, run_id: str) -> str:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        markdown = nightly_summary(wh, resources.roster, resources.calendar, results, as_of, run_id, settings.locale)
    create_markdown_artifact(markdown=markdown, key="nightly-summary",
                             description="夜间协调汇总 / nightly coordination summary")
    return markdown
