"""Working days against China's real holiday arrangements (chinesecalendar data) and overrides.

The `holidays` package is not installed in this venv, so there is no cross-check against it here;
every day of the covered range is checked against chinese_calendar.is_workday instead.
"""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liandong.workdays import (
    CalendarOverridesError,
    CalendarYearNotCovered,
    ChineseWorkCalendar,
    FixedWorkCalendar,
    WorkCalendar,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Read from the package, like the calendar does: 2026 with the locked chinesecalendar 1.11, so the
# first uncovered year is 2027. Upgrading the package (the fix the error message gives) keeps these
# tests meaningful instead of breaking them.
LAST_PACKAGE_YEAR = max(chinese_calendar.holidays).year
UNCOVERED = LAST_PACKAGE_YEAR + 1


@pytest.fixture(scope="module")
def cal() -> ChineseWorkCalendar:
    return ChineseWorkCalendar()


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar_overrides.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- Real arrangements -------------------------------------------------------------------------

def test_agrees_with_chinese_calendar_on_every_covered_day(cal):
    start, end = date(2004, 1, 1), date(LAST_PACKAGE_YEAR, 12, 31)
    assert cal.covered_years() == range(2004, LAST_PACKAGE_YEAR + 1)
    mismatches = [d for d in days(start, end) if cal.is_workday(d) != chinese_calendar.is_workday(d)]
    assert mismatches == []


@given(start=st.dates(date(2004, 1, 1), date(2026, 6, 30)), n=st.integers(0, 100))
def test_add_workdays_matches_find_workday(cal, start, n):
    due = cal.add_workdays(start, n)
    # find_workday counts the first working day on or after a day off as step 0; we count it as
    # day 1, because the day of receipt is never counted and the next working day is the first.
    steps = n - 1 if n and not chinese_calendar.is_workday(start) else n
    assert due == chinese_calendar.find_workday(steps, start)
    assert cal.is_workday(due)
    # n=0 lands on start itself (nothing in (start, start]) or on the next working day.
    assert cal.workdays_between(start, due) == (n if n else int(due != start))


def test_national_day_2025(cal):
    assert cal.is_workday(date(2025, 9, 28))  # Sunday, 调休上班
    assert cal.is_workday(date(2025, 10, 11))  # Saturday, 调休上班
    assert not any(cal.is_workday(d) for d in days(date(2025, 10, 1), date(2025, 10, 8)))
    # 09-30, 10-09, 10-10, Sat 10-11, 10-13
    assert cal.add_workdays(date(2025, 9, 29), 5) == date(2025, 10, 13)
    assert cal.workdays_between(date(2025, 9, 29), date(2025, 10, 13)) == 5
    assert cal.workdays_between(date(2025, 10, 13), date(2025, 9, 29)) == -5
    assert cal.add_workdays(date(2025, 10, 1), 0) == date(2025, 10, 9)
    assert cal.add_workdays(date(2025, 9, 30), 0) == date(2025, 9, 30)


def test_labour_day_2025_make_up_sunday(cal):
    assert chinese_calendar.workdays[date(2025, 4, 27)] == "Labour Day"
    assert cal.is_workday(date(2025, 4, 27))  # Sunday
    assert not any(cal.is_workday(d) for d in days(date(2025, 5, 1), date(2025, 5, 5)))
    assert cal.add_workdays(date(2025, 4, 25), 1) == date(2025, 4, 27)
    assert cal.add_workdays(date(2025, 4, 30), 1) == date(2025, 5, 6)
    assert cal.workdays_between(date(2025, 4, 25), date(2025, 5, 6)) == 5  # 04-27..04-30 and 05-06
    assert cal.workdays_between(date(2025, 4, 26), date(2025, 4, 30)) == 4


SPRING_FESTIVAL_2026 = days(date(2026, 2, 15), date(2026, 2, 23))  # Sun–Mon, nine days off
NATIONAL_DAY_2026 = days(date(2026, 10, 1), date(2026, 10, 7))
MID_AUTUMN_2026 = days(date(2026, 9, 25), date(2026, 9, 27))


def test_2026_arrangements_in_package_data():
    """The facts the 2026 tests below rely on, as the package records them."""
    assert {d for d, name in chinese_calendar.holidays.items() if d.year == 2026 and name == "Spring Festival"} \
        == set(SPRING_FESTIVAL_2026)
    assert {d for d, name in chinese_calendar.holidays.items() if d.year == 2026 and name == "National Day"} \
        == set(NATIONAL_DAY_2026)
    assert {d for d, name in chinese_calendar.holidays.items() if d.year == 2026
            and name == "Mid-autumn Festival"} == set(MID_AUTUMN_2026)
    make_up = {d: name for d, name in chinese_calendar.workdays.items() if d.year == 2026}
    assert make_up == {
        date(2026, 1, 4): "New Year's Day",  # Sunday
        date(2026, 2, 14): "Spring Festival",  # Saturday
        date(2026, 2, 28): "Spring Festival",  # Saturday
        date(2026, 5, 9): "Labour Day",  # Saturday
        date(2026, 9, 20): "National Day",  # Sunday
        date(2026, 10, 10): "National Day",  # Saturday
    }


def test_spring_festival_2026(cal):
    assert not any(cal.is_workday(d) for d in SPRING_FESTIVAL_2026)
    # The last working day before the holiday is the make-up Saturday 2026-02-14. Five working
    # days later: 02-24, 02-25, 02-26, 02-27 and the make-up Saturday 02-28.
    assert cal.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert cal.add_workdays(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert cal.add_workdays(date(2026, 2, 14), 5) == date(2026, 2, 28)
    assert cal.add_workdays(date(2026, 2, 13), 5) == date(2026, 2, 27)
    assert cal.workdays_between(date(2026, 2, 14), date(2026, 2, 28)) == 5
    assert cal.deadline(shanghai(2026, 2, 14, 10, 30), 5) == datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC)


def test_national_day_2026(cal):
    assert not any(cal.is_workday(d) for d in NATIONAL_DAY_2026 + MID_AUTUMN_2026)
    assert cal.is_workday(date(2026, 9, 20)) and cal.is_workday(date(2026, 10, 10))
    # 10-08, 10-09, Sat 10-10, 10-12, 10-13
    assert cal.add_workdays(date(2026, 9, 30), 5) == date(2026, 10, 13)
    # Mid-autumn Festival (Fri 09-25 to Sun 09-27) sits a few days before National Day.
    assert cal.add_workdays(date(2026, 9, 24), 3) == date(2026, 9, 30)
    assert cal.add_workdays(date(2026, 9, 18), 1) == date(2026, 9, 20)


def test_labour_day_2026_make_up_saturday_comes_after(cal):
    assert not any(cal.is_workday(d) for d in days(date(2026, 5, 1), date(2026, 5, 5)))
    assert cal.add_workdays(date(2026, 4, 30), 1) == date(2026, 5, 6)
    assert cal.add_workdays(date(2026, 5, 8), 1) == date(2026, 5, 9)


# --- Datetimes -----------------------------------------------------------------------------------

def test_deadline_uses_the_shanghai_date_and_returns_utc(cal):
    # 2025-09-29 17:00 UTC is already 2025-09-30 01:00 in Shanghai: the next working day after that
    # is 10-09, not 09-30 as the UTC date would give.
    due = cal.deadline(datetime(2025, 9, 29, 17, 0, tzinfo=UTC), 1)
    assert due == datetime(2025, 10, 9, 15, 59, 59, tzinfo=UTC)
    assert due.utcoffset() == timedelta(0)
    assert due.astimezone(SHANGHAI) == shanghai(2025, 10, 9, 23, 59, 59)
    # Received during the holiday: zero working days means the end of the first working day.
    assert cal.deadline(shanghai(2025, 10, 3, 12), 0) == datetime(2025, 10, 9, 15, 59, 59, tzinfo=UTC)
    assert cal.deadline(shanghai(2025, 9, 29, 9), 5) == datetime(2025, 10, 13, 15, 59, 59, tzinfo=UTC)


def test_naive_datetimes_are_rejected(cal):
    with pytest.raises(ValueError, match="aware datetime is required"):
        cal.deadline(datetime(2025, 9, 29, 9), 5)
    with pytest.raises(ValueError, match="无时区"):
        cal.add_working_hours(datetime(2025, 9, 29, 9), 4)


def test_date_methods_reject_datetimes(cal):
    with pytest.raises(TypeError, match="deadline"):
        cal.add_workdays(datetime(2025, 9, 29, 17, tzinfo=UTC), 1)


def test_add_working_hours(cal):
    # 2.5 h left on Tue 09-30, then the National Day break, then 1.5 h on Thu 10-09.
    assert cal.add_working_hours(shanghai(2025, 9, 30, 15), 4) == shanghai(2025, 10, 9, 10, 30)
    assert cal.add_working_hours(shanghai(2025, 9, 30, 13, 30), 4) == shanghai(2025, 9, 30, 17, 30)
    # Before opening and during a holiday, the clock starts at 09:00 on the next working day.
    assert cal.add_working_hours(shanghai(2025, 9, 30, 7, 15), 2) == shanghai(2025, 9, 30, 11)
    assert cal.add_working_hours(shanghai(2025, 10, 4, 15), 2) == shanghai(2025, 10, 9, 11)
    # After closing on Fri 2026-02-13 the next office day is the make-up Saturday 02-14.
    assert cal.add_working_hours(shanghai(2026, 2, 13, 18), 3) == shanghai(2026, 2, 14, 12)
    # 24 office hours from Fri 2026-02-13 16:30: 1 h + 8.5 h (Sat 02-14) + 8.5 h (02-24) + 6 h.
    assert cal.add_working_hours(shanghai(2026, 2, 13, 16, 30), 24) == shanghai(2026, 2, 25, 15)
    # Exactly 17 h after opening ends at closing time of the second day, not at 09:00 of the third.
    assert cal.add_working_hours(shanghai(2025, 9, 29, 9), 17) == shanghai(2025, 9, 30, 17, 30)
    assert cal.add_working_hours(shanghai(2025, 9, 29, 9), 17).tzinfo is UTC


# --- Uncovered years -----------------------------------------------------------------------------

def test_uncovered_year_raises_with_the_fix(cal):
    with pytest.raises(CalendarYearNotCovered) as caught:
        cal.is_workday(date(UNCOVERED, 1, 4))
    assert caught.value.year == UNCOVERED
    message = str(caught.value)
    assert f"{UNCOVERED}年的节假日安排尚未收录" in message
    assert "uv lock --upgrade-package chinesecalendar" in message
    assert "calendar_overrides.yaml" in message
    assert f"Holidays for {UNCOVERED} are not known" in message
    assert f"list {UNCOVERED} under years" in message


def test_never_falls_back_to_monday_to_friday(cal):
    last_day = date(LAST_PACKAGE_YEAR, 12, 31)
    for compute in (
        lambda: cal.add_workdays(last_day - timedelta(7), 10),
        lambda: cal.add_workdays(last_day, 1),
        lambda: cal.workdays_between(last_day, last_day + timedelta(5)),
        lambda: cal.deadline(shanghai(LAST_PACKAGE_YEAR, 12, 30, 10), 5),
        lambda: cal.add_working_hours(shanghai(LAST_PACKAGE_YEAR, 12, 31, 17), 8),
    ):
        with pytest.raises(CalendarYearNotCovered) as caught:
            compute()
        assert caught.value.year == UNCOVERED
    with pytest.raises(CalendarYearNotCovered) as caught:
        cal.add_workdays(date(2003, 12, 31), 1)
    assert caught.value.year == 2003


def test_year_not_covered_survives_pickling():
    error = pickle.loads(pickle.dumps(CalendarYearNotCovered(2027, "/etc/liandong/calendar_overrides.yaml")))
    assert error.year == 2027 and "/etc/liandong/calendar_overrides.yaml" in str(error)


def test_coverage_warning(cal):
    warning = cal.coverage_warning(date(LAST_PACKAGE_YEAR, 11, 21))  # 2026-11-21 with 1.11
    assert warning is not None
    assert f"{UNCOVERED}年" in warning and f"reach into {UNCOVERED}" in warning
    assert "uv lock --upgrade-package chinesecalendar" in warning
    assert cal.coverage_warning(date(LAST_PACKAGE_YEAR, 6, 1)) is None
    assert cal.coverage_warning(date(LAST_PACKAGE_YEAR, 10, 31)) is None
    current = cal.coverage_warning(date(UNCOVERED, 1, 5))
    assert current is not None and f"current year {UNCOVERED}" in current and f"今年（{UNCOVERED}年）" in current


# --- Overrides -----------------------------------------------------------------------------------

# An illustrative 2027 arrangement for the test (not the official notice, which is not out yet).
OVERRIDES_2027 = """\
years: [2027]
workdays:
  - 2027-02-13    # Saturday, make-up
holidays:
  2027-01-01: 元旦
  2027-02-06: 春节
  2027-02-07: 春节
  2027-02-08: 春节
  2027-02-09: 春节
  2027-02-10: 春节
  2027-02-11: 春节
  2027-02-12: 春节
"""


def test_overrides_add_a_year(tmp_path):
    cal = ChineseWorkCalendar(write(tmp_path, OVERRIDES_2027))
    assert cal.covered_years() == range(2004, 2028)
    assert not cal.is_workday(date(2027, 2, 8))
    assert cal.is_workday(date(2027, 2, 13))
    assert cal.add_workdays(date(2027, 2, 5), 1) == date(2027, 2, 13)
    assert cal.add_workdays(date(2027, 2, 5), 2) == date(2027, 2, 15)
    assert cal.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert cal.coverage_warning(date(2026, 11, 21)) is None
    assert "2028" in cal.coverage_warning(date(2027, 11, 21))
    with pytest.raises(CalendarYearNotCovered) as caught:
        cal.is_workday(date(2028, 1, 3))
    assert caught.value.year == 2028 and str(tmp_path / "calendar_overrides.yaml") in str(caught.value)


def test_override_marks_a_local_extra_holiday(tmp_path, cal):
    local = ChineseWorkCalendar(write(tmp_path, "holidays:\n  2025-06-03: 区级防汛停工日\n"))
    # Fri 05-30, then Dragon Boat Festival 05-31..06-02, then the local day off.
    assert cal.add_workdays(date(2025, 5, 30), 1) == date(2025, 6, 3)
    assert not local.is_workday(date(2025, 6, 3))
    assert local.add_workdays(date(2025, 5, 30), 1) == date(2025, 6, 4)
    assert local.covered_years() == cal.covered_years()


def test_override_workday_wins_over_the_package(tmp_path):
    cal = ChineseWorkCalendar(write(tmp_path, "workdays: [2025-10-08]\n"))
    assert cal.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 8)


def test_entries_for_an_undeclared_year_do_not_cover_it(tmp_path):
    cal = ChineseWorkCalendar(write(tmp_path, f"holidays:\n  {UNCOVERED}-02-10: 春节\n"))
    with pytest.raises(CalendarYearNotCovered):
        cal.is_workday(date(UNCOVERED, 2, 9))


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("holidays:\n  2027-02-10: 春节\n  - 2027-02-11\n", 3, "(YAML)"),
        ("years: [2027]\nholiday:\n  2027-02-10: 春节\n", 2, "holiday"),
        ("workdays:\n  - 2027-02-07\n  - 2027-02-30\n", 3, "workdays"),
        ("workdays:\n  - 2027-02-07 09:00\n", 2, "workdays"),
        ("workdays: 2027-02-07\n", 1, "workdays"),
        ("holidays:\n  2025-06-03:\n", 2, "holidays: 2025-06-03"),
        ("holidays:\n  2025-06-03: 停工\n  2025-06-03: 停工\n", 3, "holidays: 2025-06-03"),
        ("workdays: [2025-06-03]\nholidays:\n  2025-06-03: 停工\n", 1, "2025-06-03"),
        (f"years:\n  - {UNCOVERED}\n  - {UNCOVERED + 2}\nholidays:\n  {UNCOVERED}-01-01: 元旦\n"
         f"  {UNCOVERED + 2}-01-01: 元旦\n", 3, f"years: {UNCOVERED + 2}"),
        (f"years:\n  - {UNCOVERED}\n", 2, f"years: {UNCOVERED}"),
        ("years: [twenty]\n", 1, "years"),
        ("- 2027-02-07\n", 1, "(top level)"),
        ("years: [2027]\nyears: [2028]\n", 2, "years"),
    ],
)
def test_broken_overrides_name_file_line_and_key(tmp_path, text, line, key):
    path = write(tmp_path, text)
    with pytest.raises(CalendarOverridesError) as caught:
        ChineseWorkCalendar(path)
    error = caught.value
    assert (error.path, error.line, error.key) == (path, line, key)
    message = str(error)
    assert str(path) in message
    assert f"第 {line} 行" in message and f"line {line}," in message
    assert "节假日覆盖文件" in message and "calendar overrides file" in message


def test_missing_overrides_file(tmp_path):
    with pytest.raises(CalendarOverridesError, match="无法读取.*cannot be read"):
        ChineseWorkCalendar(tmp_path / "nope.yaml")


def test_empty_overrides_file_changes_nothing(tmp_path, cal):
    assert ChineseWorkCalendar(write(tmp_path, "# nothing yet\n")).covered_years() == cal.covered_years()


# --- FixedWorkCalendar ---------------------------------------------------------------------------

def test_fixed_calendar_contract():
    cal: WorkCalendar = FixedWorkCalendar(
        workdays={date(2025, 9, 28)}, holidays={date(2025, 10, 1)}, years=range(2025, 2026)
    )
    assert cal.is_workday(date(2025, 9, 28))  # Sunday made a workday
    assert not cal.is_workday(date(2025, 10, 1))  # Wednesday made a holiday
    assert not cal.is_workday(date(2025, 10, 4))  # plain Saturday
    assert cal.add_workdays(date(2025, 9, 26), 1) == date(2025, 9, 28)
    assert cal.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 2)
    assert cal.add_workdays(date(2025, 10, 4), 0) == date(2025, 10, 6)
    assert cal.add_workdays(date(2025, 10, 6), 0) == date(2025, 10, 6)
    assert cal.workdays_between(date(2025, 9, 26), date(2025, 10, 3)) == 5  # 09-28..09-30, 10-02, 10-03
    assert cal.workdays_between(date(2025, 10, 3), date(2025, 9, 26)) == -5
    assert cal.workdays_between(date(2025, 10, 3), date(2025, 10, 3)) == 0
    assert cal.covered_years() == range(2025, 2026)
    assert cal.deadline(shanghai(2025, 9, 30, 16), 1) == datetime(2025, 10, 2, 15, 59, 59, tzinfo=UTC)
    assert cal.coverage_warning(date(2025, 11, 1)) is not None
    for compute in (
        lambda: cal.is_workday(date(2026, 1, 1)),
        lambda: cal.add_workdays(date(2025, 12, 30), 5),
        lambda: cal.workdays_between(date(2025, 12, 30), date(2026, 1, 2)),
    ):
        with pytest.raises(CalendarYearNotCovered) as caught:
            compute()
        assert caught.value.year == 2026
    with pytest.raises(CalendarYearNotCovered) as caught:
        cal.is_workday(date(2024, 12, 31))
    assert caught.value.year == 2024


def test_fixed_calendar_rejects_bad_input():
    with pytest.raises(ValueError, match="both"):
        FixedWorkCalendar(workdays={date(2025, 10, 1)}, holidays={date(2025, 10, 1)})
    with pytest.raises(ValueError, match="outside"):
        FixedWorkCalendar(holidays={date(2030, 1, 1)}, years=range(2025, 2027))
    with pytest.raises(ValueError, match="n must be >= 0"):
        FixedWorkCalendar().add_workdays(date(2025, 1, 1), -1)
