"""The chasing ladder on China's real working-day calendar: deadlines and the days each rung
falls on across National Day and Spring Festival 2026 and the 2025 make-up Saturdays, the
rotating chair, and the loud path for a year the calendar does not know."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from liandong.clock import local
from liandong.roster import Community, Person, Policy
from liandong.workdays import CalendarYearNotCovered, ChineseWorkCalendar
from tasks.chase.chair import ChairUnknown, chair_unit_id
from tasks.chase.ladder import Rungs, rungs_tonight
from tasks.routing.assign import windows

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = Policy()  # reminders 2 working days before; escalation on the 3rd working day after


@pytest.fixture(scope="module")
def cal() -> ChineseWorkCalendar:
    return ChineseWorkCalendar()


def received(d: date, hour: int = 10) -> datetime:
    return datetime.combine(d, time(hour), SHANGHAI)


def ladder(cal, due: date, set_on: date, first: date, last: date) -> dict[date, str]:
    """The rung each working day first reaches, as the stage's ledger lets it through (each rung
    once; the escalation beside the overdue notice)."""
    sent: set[str] = set()
    days: dict[date, str] = {}
    day = first
    while day <= last:
        if cal.is_workday(day):
            rungs = rungs_tonight(cal, POLICY, day, due, set_on)
            new = [r for r in [rungs.unit, "escalation" if rungs.escalation else None] if r and r not in sent]
            sent.update(new)
            if new:
                days[day] = "+".join(new)
        day += timedelta(days=1)
    return days


def test_national_day_2026_reminder_on_the_make_up_saturday(cal):
    # Received Tue 22 Sep, 10 working days; 25 Sep (Mid-Autumn) and 1–7 Oct are off, Sat 10 Oct is worked.
    accept_by, due_at = windows(cal, POLICY, received(date(2026, 9, 22)), "noise", "normal")
    assert local(accept_by).date() == date(2026, 9, 23)
    assert local(due_at) == datetime(2026, 10, 13, 23, 59, 59, tzinfo=SHANGHAI)
    assert ladder(cal, date(2026, 10, 13), date(2026, 9, 22), date(2026, 9, 23), date(2026, 10, 31)) == {
        date(2026, 10, 10): "reminder:2",   # Saturday, a make-up working day: 12 and 13 Oct are left
        date(2026, 10, 13): "due_today",
        date(2026, 10, 14): "overdue",
        date(2026, 10, 16): "escalation",   # 14, 15, 16 Oct: the third working day after the deadline
    }
    assert not any(cal.is_workday(date(2026, 10, d)) for d in range(1, 8))


def test_spring_festival_2026_reminder_on_the_first_day_back(cal):
    # Received Thu 12 Feb, high urgency (5 working days): 13 Feb, Sat 14 Feb (worked), then 24–26 Feb.
    _, due_at = windows(cal, POLICY, received(date(2026, 2, 12)), "roads", "high")
    assert local(due_at).date() == date(2026, 2, 26)
    assert ladder(cal, date(2026, 2, 26), date(2026, 2, 12), date(2026, 2, 13), date(2026, 3, 6)) == {
        date(2026, 2, 24): "reminder:2",    # nothing during the holiday (15–23 Feb)
        date(2026, 2, 26): "due_today",
        date(2026, 2, 27): "overdue",
        date(2026, 3, 2): "escalation",     # 27 Feb, Sat 28 Feb (worked), Mon 2 Mar
    }


def test_2025_make_up_days_count_for_acceptance_deadline_and_overdue(cal):
    # Received Fri 26 Sep 2025: Sun 28 Sep and Sat 11 Oct were working days (National Day 2025).
    accept_by, due_at = windows(cal, POLICY, received(date(2025, 9, 26)), "noise", "high")
    assert local(accept_by).date() == date(2025, 9, 28)  # a Sunday, worked
    assert local(due_at).date() == date(2025, 10, 10)
    assert ladder(cal, date(2025, 10, 10), date(2025, 9, 26), date(2025, 9, 27), date(2025, 10, 20)) == {
        date(2025, 9, 30): "reminder:2",    # 9 and 10 Oct are left after the holiday
        date(2025, 10, 10): "due_today",
        date(2025, 10, 11): "overdue",      # Saturday, a make-up working day
        date(2025, 10, 14): "escalation",   # 11, 13, 14 Oct
    }


def test_rungs_count_working_days_left_and_past(cal):
    due = date(2026, 10, 13)
    assert rungs_tonight(cal, POLICY, date(2026, 10, 9), due, date(2026, 9, 22)) == Rungs(None, False, 3)
    assert rungs_tonight(cal, POLICY, date(2026, 10, 12), due, date(2026, 9, 22)) == Rungs("reminder:2", False, 1)
    assert rungs_tonight(cal, POLICY, date(2026, 10, 15), due, date(2026, 9, 22)) == Rungs("overdue", False, 2)
    assert rungs_tonight(cal, POLICY, date(2026, 10, 16), due, date(2026, 9, 22)) == Rungs("overdue", True, 3)


def test_several_reminder_offsets_and_no_reminder_for_a_deadline_given_inside_the_window(cal):
    policy = Policy(reminder_working_days_before=[3, 1])
    due, set_on = date(2026, 10, 13), date(2026, 9, 22)
    assert rungs_tonight(cal, policy, date(2026, 10, 8), due, set_on).unit is None         # 4 left
    assert rungs_tonight(cal, policy, date(2026, 10, 9), due, set_on).unit == "reminder:3"  # 3 left
    assert rungs_tonight(cal, policy, date(2026, 10, 12), due, set_on).unit == "reminder:1"
    # Set on Fri 9 Oct with 3 working days left: the notice said so, a "3 days left" would repeat it.
    assert rungs_tonight(cal, policy, date(2026, 10, 9), due, date(2026, 10, 9)).unit is None
    assert rungs_tonight(cal, policy, date(2026, 10, 12), due, date(2026, 10, 9)).unit == "reminder:1"


def test_a_deadline_in_an_uncovered_year_is_loud_never_monday_to_friday(cal):
    next_year = max(cal.covered_years()) + 1
    with pytest.raises(CalendarYearNotCovered) as raised:
        windows(cal, POLICY, received(date(next_year - 1, 12, 24)), "noise", "normal")
    assert f"{next_year}年的节假日安排尚未收录" in str(raised.value)
    assert f"Holidays for {next_year} are not known" in str(raised.value)
    with pytest.raises(CalendarYearNotCovered):
        rungs_tonight(cal, POLICY, date(next_year - 1, 12, 30), date(next_year, 1, 6), date(next_year - 1, 12, 20))


def community(**chair) -> Community:
    return Community(id="xg", name="星光社区", coordinator=Person(name="李书记", email="li@xg.example.cn"), **chair)


def test_the_rotating_chair_turns_every_term():
    c = community(chair_order=["pcs", "eco", "urban"], chair_term_months=3, chair_start="2026-10-01")
    assert chair_unit_id(c, date(2026, 9, 30)) is None  # the rotation has not begun
    assert [chair_unit_id(c, date(y, m, d)) for y, m, d in
            [(2026, 10, 1), (2026, 12, 31), (2027, 1, 1), (2027, 4, 1), (2027, 7, 1), (2027, 9, 30)]] == \
        ["pcs", "pcs", "eco", "urban", "pcs", "pcs"]
    mid_month = community(chair_order=["a", "b"], chair_term_months=1, chair_start="2026-01-15")
    assert [chair_unit_id(mid_month, date(2026, 2, d)) for d in (14, 15)] == ["a", "b"]
    assert chair_unit_id(community(), date(2026, 10, 1)) is None  # no rotation configured
    with pytest.raises(ChairUnknown, match="chair_start"):
        chair_unit_id(community(chair_order=["a"], chair_start="Oct 2026"), date(2026, 10, 1))
