"""What the nightly run asks of this stage: which communities need a meeting convened tonight.

- `adhoc_meeting_needed`: an urgent case needs a joint decision now (declined or let expire by
  every candidate, or escalated to the top rung) and no meeting still to be held has it on its
  agenda (query communities_needing_adhoc_meeting).
- `regular_meetings_due`: the community's next regular meeting is within its invitation window
  (`regular_notice_working_days`) and has not been convened yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from liandong.clock import SHANGHAI, resolve_as_of
from liandong.roster import Roster
from liandong.workdays import CalendarYearNotCovered, WorkCalendar
from tasks.meetings.schedule import earliest_start, next_regular_start, regular_meeting_id
from liandong.settings import MeetingSettings
from warehouse.store import Warehouse


@dataclass(frozen=True)
class RegularMeetingDue:
    community_id: str
    meeting_id: str
    starts_at: datetime  # aware, Asia/Shanghai


def adhoc_meeting_needed(wh: Warehouse, roster: Roster) -> list[str]:
    """Ids of the roster's communities that need an ad-hoc meeting. No clock: the escalations
    and refusals behind it are already recorded."""
    known = {c.id for c in roster.communities}
    return [r["community_id"] for r in wh.query("communities_needing_adhoc_meeting") if r["community_id"] in known]


def regular_meetings_due(wh: Warehouse, roster: Roster, calendar: WorkCalendar, settings: MeetingSettings,
                         as_of: datetime) -> list[RegularMeetingDue]:
    as_of = resolve_as_of(as_of)
    today = as_of.astimezone(SHANGHAI).date()
    due = []
    for community in roster.communities:
        try:
            starts_at = next_regular_start(calendar, settings, community, earliest_start(roster.policy, as_of))
        except CalendarYearNotCovered:
            # Late in December, before next year's holidays are known: the nightly summary already
            # warns about the calendar, and the meeting is convened once the year is added.
            continue
        meeting_id = regular_meeting_id(community, starts_at)
        in_window = calendar.workdays_between(today, starts_at.date()) <= settings.regular_notice_working_days
        if in_window and not wh.scalar("SELECT count(*) FROM meetings WHERE meeting_id = ?", [meeting_id]):
            due.append(RegularMeetingDue(community.id, meeting_id, starts_at))
    return due
