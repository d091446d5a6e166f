"""What a coordinator reads at the end of a run: the nightly run's every stage, or one stage run
on its own (a replies run every 15 minutes, a meeting convened from the UI): what happened, what
needs them, links to agendas and reports, states by community, quarantine. Figures come from the
stage results and from queries in warehouse/queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from liandong.clock import local, naive_utc
from liandong.markdown import Trusted, render_summary
from liandong.roster import Roster
from liandong.workdays import WorkCalendar
from tasks.intake.loading import IntakeResult
from tasks.triage.new_cases import TriageResult
from warehouse.store import Warehouse

STATUS_NAMES = {
    "new": "新接收", "triaged": "已分拣", "rejected": "已退回", "assigned": "已交办", "in_progress": "办理中",
    "needs_meeting": "待联席会议", "resolved": "已办结", "verified": "已核实", "closed": "已关闭",
    "reopened": "已重办",
}


@dataclass
class RunResults:
    """What a run did, stage by stage; a stage the run did not have stays None and has no section."""

    intake: list[IntakeResult] | None = None
    triage: TriageResult | None = None
    replies: Any = None  # tasks.replies.ingest.IngestResult
    assignment: Any = None  # flows.assign_owning_units.AssignmentStage
    chase: Any = None  # flows.chase_deadlines.ChaseStage
    lookback: Any = None  # flows.look_back.LookbackStage
    meetings: list[str] = field(default_factory=list)  # meetings convened, decided or cancelled, one line each
    links: list[Trusted] = field(default_factory=list)  # agendas, minutes, reports (liandong.markdown.link)
    problems: list[str] = field(default_factory=list)  # anything else that needs the coordinator


def problems_of(results: RunResults, locale: str, calendar_warning: str | None) -> list[str]:
    zh = locale == "zh-CN"
    out = [calendar_warning] if calendar_warning else []
    out += results.problems
    intake = results.intake or []
    out += [f"{r.source}: {r.error}" for r in intake if r.error]
    quarantined = sum(r.quarantined for r in intake)
    if quarantined:
        out.append(f"{quarantined} 行数据未通过校验，已隔离，见下表" if zh
                   else f"{quarantined} rows failed validation and are in quarantine (table below)")
    if results.replies is not None:
        out += results.replies.problems
        if results.replies.transport_error:
            out.append(("邮箱暂时无法读取，下次运行重试：" if zh else "mailbox not readable, retried next run: ")
                       + results.replies.transport_error)
    if results.assignment is not None:
        out += results.assignment.routing.problems
        out += results.assignment.delivery.problems
        if results.assignment.delivery.transport_error:
            out.append(("邮件暂未发出，下次运行重试：" if zh else "mail not sent yet, retried next run: ")
                       + results.assignment.delivery.transport_error)
    for stage in (results.chase, results.lookback):
        if stage is not None:
            out += stage.problems
    if results.triage is not None and results.triage.uncategorised:
        out.append(f"{results.triage.uncategorised} 件案件未能自动归类，请补充类别关键词或手工归类" if zh
                   else f"{results.triage.uncategorised} cases matched no category keyword")
    return out


def run_summary(wh: Warehouse, roster: Roster, calendar: WorkCalendar, what: str, results: RunResults,
                as_of: datetime, run_id: str, locale: str) -> str:
    """`what`: nightly, or the stage run on its own (intake, triage, replies, assignment, chase,
    lookback, meeting, decisions, cancel); it names the summary."""
    since = naive_utc(as_of) - timedelta(days=1)
    return render_summary(
        "run", locale,
        what=what,
        as_of_local=local(as_of).strftime("%Y-%m-%d %H:%M"),
        problems=problems_of(results, locale, calendar.coverage_warning(local(as_of).date())),
        intake=results.intake,
        triage=results.triage,
        replies=results.replies,
        assignment=results.assignment,
        chase=results.chase,
        lookback=results.lookback,
        meetings=results.meetings,
        links=results.links,
        unit_names={u.id: u.name for u in roster.units},
        counts=wh.query("cases_by_community_and_status"),
        quarantine=wh.query("quarantine_of_run", {"run_id": run_id}),
        attention=wh.query("open_attention_items") + wh.query("cases_needing_attention", {"since": since}),
        status_names=STATUS_NAMES,
        category_names={c.id: (c.name if locale == "zh-CN" else c.name_en or c.id) for c in roster.categories},
    )
