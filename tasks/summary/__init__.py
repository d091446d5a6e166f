"""The coordinators' Markdown summary at the end of every run: the nightly run, and each stage
flow when it runs on its own (inside the nightly run, the night's summary covers it)."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.mail.delivery import DeliveryReport
from tasks.mail.outbox import QueueReport
from tasks.summary.run import RunResults, run_summary

DESCRIPTIONS = {
    "nightly": "夜间协调汇总 / nightly coordination summary", "intake": "新案件接收 / new cases",
    "triage": "分拣 / triage", "replies": "单位回复 / replies from units", "assignment": "交办 / assignments",
    "chase": "催办 / chasing", "lookback": "回头看 / look-backs", "meeting": "联席会议 / joint meeting",
    "decisions": "联席会议决定 / joint-meeting decisions", "cancel": "取消联席会议 / joint meeting cancelled",
}


def mail_problems(queued: QueueReport, delivery: DeliveryReport) -> list[str]:
    """What went wrong queueing and sending a run's mail, for its summary."""
    return [reason for _, reason in queued.rejected] + delivery.problems


def stand_alone() -> bool:
    """True unless this flow runs as a stage of another (the nightly run)."""
    return flow_run.parent_flow_run_id is None


@task(name="write-run-summary", cache_policy=NO_CACHE)
def write_run_summary(settings: Settings, what: str, results: RunResults, as_of: datetime, run_id: str) -> str:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        markdown = run_summary(wh, resources.roster, resources.calendar, what, results, as_of, run_id, settings.locale)
    create_markdown_artifact(markdown=markdown, key=f"{what}-summary", description=DESCRIPTIONS[what])
    return markdown
