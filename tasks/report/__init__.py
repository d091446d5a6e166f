"""Prefect tasks of the quarterly summary; the work is in the plain modules beside this file:
kpis (the KPI queries), render and charts (the HTML report), exports (CSV, Parquet, XLSX),
files (the report folder), notices (the email), evaluation (two-way evaluation)."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.mail.outbox import QueueReport, queue_drafts
from tasks.report.evaluation import record_community_side
from tasks.report.files import ReportFiles, report_folder, write_report
from tasks.report.kpis import QuarterlyKpis, compute_kpis, publish_quarters
from tasks.report.notices import report_drafts
from tasks.report.quarters import Quarter


@task(name="compute-quarterly-kpis", cache_policy=NO_CACHE)
def compute_kpis_task(settings: Settings, quarter: str, community: str | None, as_of: datetime) -> QuarterlyKpis:
    resources = Resources(settings)
    if community is not None:
        resources.roster.community(community)  # an unknown community stops here, with its bilingual message
    with resources.warehouse() as wh:
        kpis = compute_kpis(wh, resources.calendar, Quarter.parse(quarter), community, settings.report)
        publish_quarters(wh, kpis, as_of)
    return kpis


@task(name="write-quarterly-report", cache_policy=NO_CACHE)
def write_report_task(settings: Settings, kpis: QuarterlyKpis, as_of: datetime) -> ReportFiles:
    resources = Resources(settings)
    files = write_report(kpis, resources.roster, settings.report, report_folder(settings, kpis.quarter, kpis.community),
                         settings.locale, as_of)
    key = "quarterly-summary" + (f"-{kpis.community}".replace("_", "-") if kpis.community else "")
    create_markdown_artifact(markdown=files.markdown, key=key, description="季度汇总 / quarterly summary")
    create_link_artifact(link=files.html[settings.locale].as_uri(), link_text=str(files.html[settings.locale]),
                         key=f"{key}-report", description="季度报告文件 / the quarterly report file")
    return files


@task(name="record-community-evaluations", cache_policy=NO_CACHE)
def record_evaluations_task(settings: Settings, kpis: QuarterlyKpis, as_of: datetime) -> int:
    with Resources(settings).warehouse() as wh:
        return record_community_side(wh, kpis, as_of)


@task(name="queue-quarterly-report-mail", cache_policy=NO_CACHE)
def queue_report_mail_task(settings: Settings, kpis: QuarterlyKpis, files: ReportFiles, as_of: datetime) -> QueueReport:
    resources = Resources(settings)
    drafts = report_drafts(files, kpis.quarter, kpis.community, settings.report, resources.roster)
    with resources.warehouse() as wh:
        return queue_drafts(wh, resources.composer, drafts, as_of)
