"""Which rung of the chasing ladder an assignment stands on tonight.

Two tracks per lead assignment and deadline (docs/deadlines.md):

- the unit track, to the lead unit: `reminder:<n>` when n or fewer working days are left (for
  each offset in `policy.reminder_working_days_before`), `due_today` on the deadline's day,
  `overdue` from the first working day after it (the coordinator in copy);
- the escalation track: `escalation` from the `policy.escalate_after_working_days`-th working
  day after the deadline, to the rotating chair and the supervisor (督办).

Only the highest rung of the unit track that applies tonight is offered: after a missed night
the unit hears the current state, not yesterday's reminder. Each rung is sent once per
deadline (the caller keeps the ledger), so a moved deadline starts a fresh ladder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from liandong.roster import Policy
from liandong.workdays import WorkCalendar

DUE_TODAY, OVERDUE, ESCALATION = "due_today", "overdue", "escalation"
REMINDER = "reminder"


@dataclass(frozen=True)
class Rungs:
    unit: str | None  # reminder:<n> | due_today | overdue
    escalation: bool
    working_days: int  # left before the deadline, or past it when overdue


def rungs_tonight(calendar: WorkCalendar, policy: Policy, today: date, due: date, set_on: date) -> Rungs:
    """The rungs that apply on `today` to a deadline at the end of `due`, set on `set_on`.
    Raises CalendarYearNotCovered when the days between cannot be counted."""
    if today > due:
        late = calendar.workdays_between(due, today)
        return Rungs(OVERDUE, late >= policy.escalate_after_working_days, late)
    if today == due:
        return Rungs(DUE_TODAY, False, 0)
    left = calendar.workdays_between(today, due)
    return Rungs(_reminder(calendar, policy, left, set_on, due), False, left)


def _reminder(calendar: WorkCalendar, policy: Policy, left: int, set_on: date, due: date) -> str | None:
    offsets = sorted(n for n in policy.reminder_working_days_before if n > 0)
    n = next((n for n in offsets if left <= n), None)
    # A deadline given with n days or fewer already left needs no "n days left" reminder: the
    # notice that set it said so the same day.
    if n is None or calendar.workdays_between(set_on, due) <= n:
        return None
    return f"{REMINDER}:{n}"
