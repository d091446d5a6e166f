"""When joint meetings fall, and what they are called.

- A community holds one regular meeting per period of its cadence (month or quarter), late in
  the period: on the `regular_working_day_from_end`-th working day counted back from its end, at
  `regular_time` (Asia/Shanghai). Its id names the period: `xingguang-2026-11`, `donghu-2026-q4`.
- An ad-hoc meeting is called for the earliest office slot after the policy's minimum notice
  (`adhoc_meeting_notice_hours`); its id names the slot it was first called for:
  `xingguang-adhoc-20261124-0900`. A moved meeting keeps its id (the calendar UID).
- No meeting is called or moved to less than the minimum notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from liandong.clock import SHANGHAI
from liandong.roster import Community, Policy
from liandong.workdays import OFFICE_CLOSES, OFFICE_OPENS, WorkCalendar
from tasks.meetings.chair import add_months
from liandong.settings import MeetingSettings


class MeetingTooSoon(ValueError):
    """A meeting closer than the minimum notice; the message is bilingual."""


@dataclass(frozen=True)
class Period:
    starts: date
    ends: date  # the first day after it
    label: str  # 2026-11 | 2026-q4


def period_of(cadence: str, day: date) -> Period:
    if cadence == "monthly":
        starts = day.replace(day=1)
        return Period(starts, add_months(starts, 1), f"{day:%Y-%m}")
    quarter = (day.month - 1) // 3
    starts = date(day.year, quarter * 3 + 1, 1)
    return Period(starts, add_months(starts, 3), f"{day.year}-q{quarter + 1}")


def regular_start(calendar: WorkCalendar, settings: MeetingSettings, period: Period) -> datetime:
    """The regular meeting's start in `period` (aware, Asia/Shanghai)."""
    day, counted = period.ends, 0
    while counted < settings.regular_working_day_from_end:
        day -= timedelta(days=1)
        counted += calendar.is_workday(day)
    return datetime.combine(day, settings.regular_time, SHANGHAI)


def next_regular_start(calendar: WorkCalendar, settings: MeetingSettings, community: Community,
                       earliest: datetime) -> datetime:
    """The first regular meeting of the community's cadence at or after `earliest`."""
    period = period_of(community.meeting_cadence, earliest.astimezone(SHANGHAI).date())
    start = regular_start(calendar, settings, period)
    if start < earliest:
        start = regular_start(calendar, settings, period_of(community.meeting_cadence, period.ends))
    return start


def regular_meeting_id(community: Community, starts_at: datetime) -> str:
    period = period_of(community.meeting_cadence, starts_at.astimezone(SHANGHAI).date())
    return f"{community.id}-{period.label}"


def adhoc_meeting_id(community: Community, starts_at: datetime) -> str:
    return f"{community.id}-adhoc-{starts_at.astimezone(SHANGHAI):%Y%m%d-%H%M}"


def earliest_start(policy: Policy, as_of: datetime) -> datetime:
    return as_of + timedelta(hours=policy.adhoc_meeting_notice_hours)


def earliest_adhoc_start(calendar: WorkCalendar, policy: Policy, settings: MeetingSettings,
                         as_of: datetime) -> datetime:
    """The first half hour after the minimum notice at which the whole meeting fits in office
    hours (09:00–17:30) on a working day."""
    moment = _next_half_hour(earliest_start(policy, as_of).astimezone(SHANGHAI))
    length = timedelta(minutes=settings.duration_minutes)
    day = moment.date()
    while True:
        if calendar.is_workday(day):
            start = max(moment, datetime.combine(day, OFFICE_OPENS, SHANGHAI))
            if start + length <= datetime.combine(day, OFFICE_CLOSES, SHANGHAI):
                return start
        day += timedelta(days=1)


def check_notice(policy: Policy, starts_at: datetime, as_of: datetime) -> None:
    earliest = earliest_start(policy, as_of)
    if starts_at < earliest:
        raise MeetingTooSoon(
            f"会议时间 {starts_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 距今不足 {policy.adhoc_meeting_notice_hours} 小时，"
            f"最早可定在 {earliest.astimezone(SHANGHAI):%Y-%m-%d %H:%M} / the meeting at "
            f"{starts_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} gives less than the minimum notice of "
            f"{policy.adhoc_meeting_notice_hours} hours; the earliest is {earliest.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
        )


def _next_half_hour(moment: datetime) -> datetime:
    rounded = moment.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=30 * (moment.minute // 30))
    return rounded if rounded == moment else rounded + timedelta(minutes=30)
