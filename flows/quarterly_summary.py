"""Flow `quarterly-summary`: the KPIs of a quarter (default: the one before `as_of`, so the run
scheduled on the first day of a quarter reports the quarter just ended), the HTML report with
its exports, the community's side of the two-way evaluation, and the email to the recipients.
docs/kpis.md defines every figure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from prefect import flow
from prefect.runtime import flow_run
from pydantic import Field

from flows.naming import tag_run
from liandong.clock import resolve_as_of
from liandong.resources import writing_run
from liandong.settings import load_settings
from tasks.mail import deliver_outbox_task
from tasks.mail.delivery import DeliveryReport
from tasks.mail.outbox import QueueReport
from tasks.report import compute_kpis_task, queue_report_mail_task, record_evaluations_task, write_report_task
from tasks.report.files import ReportFiles
from tasks.report.quarters import QUARTER_PATTERN, Quarter


@dataclass
class QuarterlySummary:
    quarter: str
    community: str | None
    files: ReportFiles
    evaluations_recorded: int = 0
    queued: QueueReport = field(default_factory=QueueReport)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def run_name() -> str:
    """`quarterly 2026-Q4`, or `quarterly 2026-Q4 xingguang` for one community."""
    params = flow_run.parameters
    quarter = params.get("quarter") or Quarter.containing(resolve_as_of(params.get("as_of"))).previous().label
    return " ".join(filter(None, ["quarterly", quarter, params.get("community")]))


@flow(name="quarterly-summary", flow_run_name=run_name, log_prints=True)
def quarterly_summary(
    quarter: Annotated[str | None, Field(pattern=QUARTER_PATTERN)] = None,
    community: Annotated[str | None, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")] = None,
    as_of: datetime | None = None,
) -> QuarterlySummary:
    """季度汇总 / the quarterly summary.

    Args:
        quarter: 季度，如 2026-Q4；留空为上一季度 / the quarter, e.g. 2026-Q4; empty: the previous one
        community: 社区编号，留空为全部社区 / a community's id; empty: all communities
        as_of: 运行时间（默认现在）/ the moment of the run (default now)
    """
    with writing_run():  # one writer slot and one warehouse connection for the whole run
        if community:
            tag_run(f"community:{community}")
        settings, as_of = load_settings(), resolve_as_of(as_of)
        quarter = quarter or Quarter.containing(as_of).previous().label
        kpis = compute_kpis_task(settings, quarter, community, as_of)
        summary = QuarterlySummary(quarter, community, write_report_task(settings, kpis, as_of))
        summary.evaluations_recorded = record_evaluations_task(settings, kpis, as_of)
        summary.queued = queue_report_mail_task(settings, kpis, summary.files, as_of)
        summary.delivery = deliver_outbox_task(settings, as_of)
        overall = kpis.overall()
        print(f"quarterly {quarter}{' ' + community if community else ''}: {overall['received']} received, "
              f"{overall['resolved']} resolved; report {summary.files.html[settings.locale]}; "
              f"{summary.queued.queued} emails queued, {summary.delivery.sent} sent")
        return summary
