"""The coordinators' table of overdue and escalated cases, by community and lead unit (the flow
publishes it as the `overdue-cases` artifact). No reporter data: titles are redacted too."""

from __future__ import annotations

from datetime import date, datetime

from liandong.clock import local, naive_utc
from liandong.roster import Roster
from liandong.workdays import CalendarYearNotCovered, WorkCalendar
from tasks.mail.privacy import redact
from warehouse.store import Warehouse

HEADERS = {
    "zh-CN": ("社区", "牵头单位", "诉求编号", "标题", "办理期限", "逾期工作日", "已升级督办"),
    "en": ("Community", "Lead unit", "Case", "Title", "Deadline", "Working days overdue", "Escalated"),
}
YES = {"zh-CN": "是", "en": "yes"}


def overdue_table(wh: Warehouse, roster: Roster, calendar: WorkCalendar, as_of: datetime,
                  locale: str) -> list[dict[str, str]]:
    today = local(as_of).date()
    communities = {c.id: c.name for c in roster.communities}
    units = {u.id: u.name for u in roster.units}
    rows = []
    for r in wh.query("cases_overdue_or_escalated", {"now": naive_utc(as_of)}):
        values = (
            communities.get(r["community_id"], r["community_id"] or ""),
            units.get(r["unit_id"], r["unit_id"]),
            r["case_id"],
            redact({"title": r["title"]})["title"],
            local(r["due_at"]).strftime("%Y-%m-%d"),
            _late(calendar, local(r["due_at"]).date(), today),
            YES[locale] if r["escalated_at"] else "",
        )
        rows.append(dict(zip(HEADERS[locale], values)))
    return rows


def _late(calendar: WorkCalendar, due: date, today: date) -> str:
    if due >= today:
        return "0"
    try:
        return str(calendar.workdays_between(due, today))
    except CalendarYearNotCovered:
        return "?"
