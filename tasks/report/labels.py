"""The names of the report's figures in Chinese and English, shared by the HTML, the Markdown
artifact, the email and the XLSX headers, so a figure is called the same everywhere.
docs/kpis.md defines each one."""

from __future__ import annotations

from typing import Any

# column of kpi_by_dimension.sql / kpi_unit_scorecard.sql / kpi_meetings.sql → (zh-CN, en)
COLUMNS: dict[str, tuple[str, str]] = {
    "quarter": ("季度", "Quarter"),
    "dimension": ("维度", "Dimension"),
    "key": ("对象", "Key"),
    "name": ("名称", "Name"),
    "community_id": ("所属社区", "Within community"),
    "cases": ("案件数", "Cases"),
    "received": ("受理", "Received"),
    "assigned": ("交办", "Assigned"),
    "responses": ("应响应", "Due a response"),
    "responded_in_time": ("按时接收", "Accepted in time"),
    "response_rate": ("响应率", "Response rate"),
    "resolved": ("办结", "Resolved"),
    "deadlines": ("应办结", "Deadlines judged"),
    "on_time": ("按期办结", "Resolved on time"),
    "on_time_rate": ("按期办结率", "On-time rate"),
    "verdicts": ("回访核实", "Look-back verdicts"),
    "verified": ("核实已解决", "Verified fixed"),
    "reopened": ("重办", "Reopened"),
    "resolution_rate": ("解决率", "Resolution rate"),
    "answered": ("回访答复", "Look-backs answered"),
    "rated": ("已评价", "Rated"),
    "satisfied": ("满意（含基本满意）", "Satisfied (incl. basically)"),
    "no_response": ("未答复", "No response"),
    "satisfaction_rate": ("满意率", "Satisfaction rate"),
    "open_at_end": ("期末在办", "Open at quarter end"),
    "overdue_at_end": ("期末超期", "Overdue at quarter end"),
    "declined": ("退回", "Declined"),
    "expired": ("超时未接收", "Expired"),
    "escalated": ("督办", "Escalated"),
    "support_assigned": ("协办", "Support assignments"),
    "accept_days_median": ("接收用时中位数（工作日）", "Working days to accept, median"),
    "accept_days_p90": ("接收用时P90（工作日）", "Working days to accept, p90"),
    "resolve_days_median": ("办结用时中位数（工作日）", "Working days to resolve, median"),
    "resolve_days_p90": ("办结用时P90（工作日）", "Working days to resolve, p90"),
    "days_unknown": ("日历未覆盖的时长", "Spans outside the calendar"),
    "score": ("综合得分", "Score"),
    "rank": ("排名", "Rank"),
    "list": ("红黄榜", "Red/yellow list"),
    "meetings_held": ("召开会议", "Meetings held"),
    "regular_meetings": ("例会", "Regular"),
    "adhoc_meetings": ("临时会议", "Ad hoc"),
    "items_decided": ("议定事项", "Items decided"),
    "case_decisions": ("涉及案件的决定", "Decisions on cases"),
    "carried_out_on_time": ("按期落实", "Carried out on time"),
    "carried_out_late": ("逾期落实", "Carried out late"),
    "decisions_pending": ("尚在期限内", "Still within deadline"),
    "decisions_on_time_rate": ("决定按期落实率", "Decisions on time"),
    "chaired_by": ("主持单位", "Chaired by"),
    "case_id": ("诉求编号", "Case"),
    "title": ("标题", "Title"),
    "category": ("类别", "Category"),
    "grid_id": ("网格", "Grid"),
    "unit_id": ("牵头单位", "Lead unit"),
    "overdue_days": ("超期工作日", "Working days overdue"),
    "due_at": ("办结期限", "Deadline"),
    "overdue": ("期末超期", "Overdue at end"),
    "late": ("逾期办结", "Late"),
    "dissatisfied": ("不满意", "Dissatisfied"),
    "period": ("期间", "Period"),
    "rater": ("评价方", "Rater"),
    "ratee": ("被评价方", "Rated"),
    "comment": ("意见", "Comment"),
    "rating": ("评分（5分制）", "Score (of 5)"),
    "created_at": ("时间", "Time"),
}

DIMENSIONS: dict[str, tuple[str, str]] = {
    "all": ("合计", "Total"),
    "community": ("社区", "Community"),
    "grid": ("网格", "Grid"),
    "category": ("类别", "Category"),
    "source": ("来源", "Source"),
    "unit": ("单位", "Unit"),
    "community_unit": ("社区内单位", "Unit within community"),
}

# Keys without a value in their dimension: no grid, no category, or not assigned to a unit.
NONE_KEY = ("（无）", "(none)")
LISTS = {"red": ("红榜", "red list"), "yellow": ("黄榜", "yellow list")}


def label(column: str, locale: str) -> str:
    zh, en = COLUMNS.get(column, (column, column))
    return zh if locale == "zh-CN" else en


def pick(pair: tuple[str, str], locale: str) -> str:
    return pair[0] if locale == "zh-CN" else pair[1]


def formatted(column: str, value: Any) -> str:
    """A figure as the report prints it: rates in %, counts and working days as numbers."""
    return percent(value) if column.endswith("_rate") else number(value)


def percent(value: Any) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.{digits}f}"
