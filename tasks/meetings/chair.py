"""The rotating chair (轮值主席) as terms: which member unit holds the chair on a day, and when
its term began and ends, so the term's last regular meeting can hear its report (述职).

Units take the chair in the roster's `chair_order`, `chair_term_months` each from `chair_start`,
round and round. (tasks/chase/chair.py names the same unit for escalations; this module adds
the term's bounds.)
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from liandong.roster import Community


class ChairSettingsInvalid(ValueError):
    """The community's chair_start is not a date; the message is bilingual."""


@dataclass(frozen=True)
class ChairTerm:
    unit_id: str
    starts: date  # first day of the term
    ends: date  # first day after it


def chair_term(community: Community, on: date) -> ChairTerm | None:
    """The term running on `on`, or None when the community has no rotation or it starts later."""
    if not community.chair_order:
        return None
    start = _chair_start(community)
    if on < start:
        return None
    # The same count as tasks/chase/chair.py, so both name the same unit on every day.
    months = (on.year - start.year) * 12 + on.month - start.month - (on.day < start.day)
    index = months // community.chair_term_months
    length = community.chair_term_months
    return ChairTerm(unit_id=community.chair_order[index % len(community.chair_order)],
                     starts=_boundary(start, index * length), ends=_boundary(start, (index + 1) * length))


def _boundary(start: date, months: int) -> date:
    """The first day `months` after `start`: a start on the 31st moves on the 1st of the month
    after a shorter month, as the count above does."""
    day = add_months(start, months)
    return day + timedelta(days=1) if day.day < start.day else day


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later; the 31st becomes the month's last day."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _chair_start(community: Community) -> date:
    try:
        return date.fromisoformat(community.chair_start)
    except ValueError:
        raise ChairSettingsInvalid(
            f"社区 {community.id} 的 chair_start 不是日期（YYYY-MM-DD）：{community.chair_start!r}"
            f" / community {community.id}: chair_start is not a date (YYYY-MM-DD): {community.chair_start!r}"
        ) from None
