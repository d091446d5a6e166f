"""Working days with China's public holidays and make-up workdays (调休).

Deadlines in Liandong are counted in working days. A working day is Monday–Friday, minus the
public holidays, plus the weekend days the State Council declares working days (e.g. Saturday
2025-10-11 and Sunday 2025-09-28 for National Day 2025).

`ChineseWorkCalendar` takes those facts from the `chinesecalendar` package (2004–2026 in 1.11;
the range is read from the package data) and then applies an optional overrides file. Any lookup
that touches a year neither source covers raises `CalendarYearNotCovered`. It never falls back
to plain Monday–Friday, because a guessed calendar silently moves legal deadlines.

Overrides file (YAML, every key optional)::

    # 2027 is not in the package yet: the operator copies the State Council notice here.
    years: [2027]                  # years this file declares complete
    workdays: [2027-02-07, 2027-02-20]   # weekend days worked (调休上班日)
    holidays:                      # days off; the name is for the reader of the file
      2027-02-10: 春节
      2025-06-03: 区级防汛停工日     # a local extra day off in a year the package covers

Explicit entries always win over the package. A year listed under `years` counts as covered even
if the package lacks it; such a year must have at least one holiday entry, so that listing a year
alone cannot switch it to plain Monday–Friday. Together with the package the covered years must
form one unbroken range. Entries for a year that is neither listed nor in the package are kept
and take effect once a package upgrade covers that year. A file that does not parse or breaks a
rule raises `CalendarOverridesError`, which names the file, the line and the key.

Speed: each calendar precomputes the sorted ordinals of every working day in its covered years
(about 250 a year). `add_workdays` and `workdays_between` are a `bisect` into that index, so one
call costs O(log n) over a few thousand entries, whatever the span. There is no batch API because
the single call is already cheap enough for 100,000 cases a night.

Datetimes: `deadline` and `add_working_hours` take aware datetimes, work in Asia/Shanghai
local time, and return aware UTC datetimes. The date methods reject datetimes, because a UTC
datetime's own date can be the day before the Shanghai date.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol

import chinese_calendar
import yaml

from liandong.clock import SHANGHAI

END_OF_DAY = time(23, 59, 59)
# Urgent acceptance windows run on office time: 09:00–17:30 local on working days. The lunch break
# counts as office time. The window is a promise to the resident and a duty officer is on call at
# noon; counting lunch also makes the deadline earlier (stricter), never later.
OFFICE_OPENS = time(9, 0)
OFFICE_CLOSES = time(17, 30)
OFFICE_DAY = timedelta(hours=8, minutes=30)

DEFAULT_OVERRIDES_NAME = "calendar_overrides.yaml"
_UPGRADE_COMMAND = "uv lock --upgrade-package chinesecalendar && uv sync"


class CalendarYearNotCovered(Exception):
    """A date lookup reached a year whose holidays and make-up workdays are unknown."""

    def __init__(self, year: int, overrides_name: str = DEFAULT_OVERRIDES_NAME):
        # The args are kept as given (not the message), so the exception survives pickling
        # between worker processes.
        super().__init__(year, overrides_name)
        self.year = year
        self.overrides_name = overrides_name

    @property
    def zh(self) -> str:
        return (
            f"{self.year}年的节假日安排尚未收录：请升级 chinesecalendar（{_UPGRADE_COMMAND}），"
            f"或在 {self.overrides_name} 中补充该年的节假日与调休上班日，并把 {self.year} 列入 years。"
        )

    @property
    def en(self) -> str:
        return (
            f"Holidays for {self.year} are not known: upgrade chinesecalendar ({_UPGRADE_COMMAND}),"
            f" or add the year's holidays and make-up workdays to {self.overrides_name}"
            f" and list {self.year} under years."
        )

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


class CalendarOverridesError(ValueError):
    """An overrides file that cannot be used. Names the file, the line and the key."""

    def __init__(self, path: Path, line: int | None, key: str, zh: str, en: str):
        super().__init__(path, line, key, zh, en)
        self.path = path
        self.line = line
        self.key = key
        self.zh = zh
        self.en = en

    def __str__(self) -> str:
        where_zh = f"第 {self.line} 行，" if self.line else ""
        where_en = f"line {self.line}, " if self.line else ""
        return (
            f"节假日覆盖文件 {self.path} {where_zh}{self.key}：{self.zh}"
            f" / calendar overrides file {self.path}, {where_en}{self.key}: {self.en}"
        )


class WorkCalendar(Protocol):
    def is_workday(self, d: date) -> bool:
        """True if `d` is a working day."""
        ...

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after `start` (start itself not counted); for n=0, `start` if it
        is a working day, else the next working day."""
        ...

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative if b < a."""
        ...

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """23:59:59 Asia/Shanghai on `add_workdays(local date of start, working_days)`, in UTC."""
        ...

    def add_working_hours(self, start: datetime, hours: int) -> datetime:
        """`start` plus `hours` of office time (09:00–17:30 local on working days), in UTC."""
        ...

    def covered_years(self) -> range:
        """The years this calendar can answer for."""
        ...

    def coverage_warning(self, today: date) -> str | None:
        """A bilingual warning if this year's, or from November on next year's, data is missing."""
        ...


class _IndexedWorkCalendar:
    """The shared engine: a sorted index of the working days (all within `years`, an unbroken range)."""

    def __init__(self, years: range, workdays: Iterable[date], overrides_name: str):
        if not years or years.step != 1:
            raise ValueError(f"years must be a non-empty range with step 1, got {years!r}")
        self._years = years
        self._overrides_name = overrides_name
        self._first = date(years.start, 1, 1).toordinal()
        self._last = date(years.stop - 1, 12, 31).toordinal()
        self._index = sorted(d.toordinal() for d in workdays)
        self._index_set = frozenset(self._index)

    def _ordinal(self, d: date) -> int:
        if isinstance(d, datetime):
            raise TypeError(
                "请传入 date；带时间的值请用 deadline() 或 add_working_hours()"
                " / pass a date; use deadline() or add_working_hours() for datetimes"
            )
        o = d.toordinal()
        if not self._first <= o <= self._last:
            raise CalendarYearNotCovered(d.year, self._overrides_name)
        return o

    def _workday_at(self, position: int) -> date:
        if position >= len(self._index):
            raise CalendarYearNotCovered(self._years.stop, self._overrides_name)
        return date.fromordinal(self._index[position])

    def is_workday(self, d: date) -> bool:
        return self._ordinal(d) in self._index_set

    def add_workdays(self, start: date, n: int) -> date:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        o = self._ordinal(start)
        if n == 0 and o in self._index_set:
            return start
        # `before` = working days on or before start, so index[before] is the first one after it.
        before = bisect.bisect_right(self._index, o)
        return self._workday_at(before + max(n - 1, 0))

    def workdays_between(self, a: date, b: date) -> int:
        oa, ob = self._ordinal(a), self._ordinal(b)
        return bisect.bisect_right(self._index, ob) - bisect.bisect_right(self._index, oa)

    def deadline(self, start: datetime, working_days: int) -> datetime:
        due = self.add_workdays(_to_shanghai(start).date(), working_days)
        return datetime.combine(due, END_OF_DAY, SHANGHAI).astimezone(UTC)

    def add_working_hours(self, start: datetime, hours: int) -> datetime:
        if hours < 0:
            raise ValueError(f"hours must be >= 0, got {hours}")
        local = _to_shanghai(start).replace(tzinfo=None)
        day = local.date()
        if self.is_workday(day) and local.time() < OFFICE_CLOSES:
            cursor = max(local, datetime.combine(day, OFFICE_OPENS))
        else:
            cursor = datetime.combine(self.add_workdays(day, 1), OFFICE_OPENS)
        remaining = timedelta(hours=hours)
        left_today = datetime.combine(cursor.date(), OFFICE_CLOSES) - cursor
        if remaining <= left_today:
            end = cursor + remaining
        else:
            full_days, rest = divmod(remaining - left_today, OFFICE_DAY)
            if rest:
                end = datetime.combine(self.add_workdays(cursor.date(), full_days + 1), OFFICE_OPENS) + rest
            else:
                end = datetime.combine(self.add_workdays(cursor.date(), full_days), OFFICE_CLOSES)
        return end.replace(tzinfo=SHANGHAI).astimezone(UTC)

    def covered_years(self) -> range:
        return self._years

    def coverage_warning(self, today: date) -> str | None:
        if today.year not in self._years:
            missing = CalendarYearNotCovered(today.year, self._overrides_name)
            return (
                f"今年（{today.year}年）的期限都无法计算。{missing.zh}"
                f" / No deadline in the current year {today.year} can be computed. {missing.en}"
            )
        if today.month >= 11 and today.year + 1 not in self._years:
            missing = CalendarYearNotCovered(today.year + 1, self._overrides_name)
            return (
                f"跨入{missing.year}年的期限将无法计算。{missing.zh}"
                f" / Deadlines that reach into {missing.year} will fail. {missing.en}"
            )
        return None


def _to_shanghai(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"需要带时区的时间，收到无时区的 {moment.isoformat()}"
            f" / an aware datetime is required, got naive {moment.isoformat()}"
        )
    return moment.astimezone(SHANGHAI)


def _days(years: range) -> Iterable[date]:
    first = date(years.start, 1, 1).toordinal()
    last = date(years.stop - 1, 12, 31).toordinal()
    return map(date.fromordinal, range(first, last + 1))


class FixedWorkCalendar(_IndexedWorkCalendar):
    """Monday–Friday plus the given exceptions, for tests. Same contract as the real calendar,
    including `CalendarYearNotCovered` outside `years`."""

    def __init__(
        self,
        workdays: set[date] | None = None,
        holidays: set[date] | None = None,
        years: range = range(2000, 2100),
    ):
        workdays, holidays = workdays or set(), holidays or set()
        if both := workdays & holidays:
            raise ValueError(f"dates both workday and holiday: {sorted(both)}")
        if outside := {d for d in workdays | holidays if d.year not in years}:
            raise ValueError(f"exceptions outside {years!r}: {sorted(outside)}")
        super().__init__(
            years,
            (d for d in _days(years) if d in workdays or (d.weekday() < 5 and d not in holidays)),
            DEFAULT_OVERRIDES_NAME,
        )


@dataclass
class _Overrides:
    years: set[int] = field(default_factory=set)
    workdays: set[date] = field(default_factory=set)
    holidays: set[date] = field(default_factory=set)
    year_lines: dict[int, int] = field(default_factory=dict)


class ChineseWorkCalendar(_IndexedWorkCalendar):
    """China's working days from `chinesecalendar`, corrected and extended by an overrides file."""

    def __init__(self, overrides: Path | None = None):
        # The same bounds chinese_calendar itself validates against.
        package_years = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
        path = Path(overrides) if overrides is not None else Path(DEFAULT_OVERRIDES_NAME)
        extra = _load_overrides(path) if overrides is not None else _Overrides()
        years = _merge_years(package_years, extra, path)

        def is_workday(d: date) -> bool:
            if d in extra.workdays:
                return True
            if d in extra.holidays:
                return False
            # The package's own rule (chinese_calendar.is_workday), applied to its public data
            # directly: calling is_workday per day re-validates the year each time (~0.3 s for all years).
            return d in chinese_calendar.workdays or (d.weekday() < 5 and d not in chinese_calendar.holidays)

        super().__init__(years, filter(is_workday, _days(years)), str(path))


def _merge_years(package_years: range, extra: _Overrides, path: Path) -> range:
    for year in sorted(extra.years - set(package_years)):
        if not any(d.year == year for d in extra.holidays):
            raise CalendarOverridesError(
                path, extra.year_lines[year], f"years: {year}",
                f"声明了 {year} 年已完整收录，但没有该年的任何节假日条目",
                f"{year} is declared complete but has no holiday entries",
            )
    all_years = set(package_years) | extra.years
    lo, hi = min(all_years), max(all_years)
    if gaps := sorted(set(range(lo, hi + 1)) - all_years):
        # The package's years are unbroken, so the override years on the far side of a gap are at fault.
        gap = gaps[0]
        if gap > package_years[-1]:
            culprit = min(y for y in extra.years if y > gap)
        else:
            culprit = max(y for y in extra.years if y < gap)
        raise CalendarOverridesError(
            path, extra.year_lines[culprit], f"years: {culprit}",
            f"已收录年份须连续，缺少 {gap} 年（chinesecalendar 收录 {package_years[0]}–{package_years[-1]}）",
            f"covered years must be unbroken; {gap} is missing"
            f" (chinesecalendar covers {package_years[0]}–{package_years[-1]})",
        )
    return range(lo, hi + 1)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _load_overrides(path: Path) -> _Overrides:
    def fail(node: yaml.Node | None, key: str, zh: str, en: str) -> CalendarOverridesError:
        return CalendarOverridesError(path, node.start_mark.line + 1 if node else None, key, zh, en)

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarOverridesError(path, None, "(file)", f"无法读取：{exc}", f"cannot be read: {exc}") from None

    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()

        def scalar(node: yaml.Node) -> object:
            if not isinstance(node, yaml.ScalarNode):
                return node
            try:
                return loader.construct_object(node)
            except ValueError:
                # An impossible date such as 2027-02-30 looks like a timestamp to YAML and fails
                # to construct; keep the text so the caller reports it with its line.
                return node.value

        def as_date(node: yaml.Node, key: str) -> date:
            value = scalar(node)
            if isinstance(value, str) and _ISO_DATE.fullmatch(value):
                try:
                    value = date.fromisoformat(value)
                except ValueError:
                    pass
            if isinstance(value, date) and not isinstance(value, datetime):
                return value
            raise fail(node, key, "应为日期，格式 YYYY-MM-DD", "expected a date as YYYY-MM-DD")

        def items(node: yaml.Node, key: str, kind: type[yaml.Node], zh: str, en: str) -> list:
            if isinstance(node, yaml.ScalarNode) and scalar(node) is None:
                return []
            if not isinstance(node, kind):
                raise fail(node, key, zh, en)
            return node.value

        result = _Overrides()
        if root is None:
            return result
        if not isinstance(root, yaml.MappingNode):
            raise fail(root, "(top level)", "顶层应为映射（years / workdays / holidays）",
                       "the top level must be a mapping (years / workdays / holidays)")
        seen_keys: set[object] = set()
        line_of: dict[date, int] = {}
        for key_node, value_node in root.value:
            key = scalar(key_node)
            if key in seen_keys:
                raise fail(key_node, str(key), "键重复", "duplicate key")
            seen_keys.add(key)
            if key == "years":
                for node in items(value_node, "years", yaml.SequenceNode,
                                  "应为年份列表，例如 [2027]", "expected a list of years, e.g. [2027]"):
                    year = scalar(node)
                    if type(year) is not int or not 1900 <= year <= 2200:
                        raise fail(node, "years", "应为四位年份", "expected a four-digit year")
                    result.years.add(year)
                    result.year_lines.setdefault(year, node.start_mark.line + 1)
            elif key == "workdays":
                for node in items(value_node, "workdays", yaml.SequenceNode,
                                  "应为日期列表", "expected a list of dates"):
                    d = as_date(node, "workdays")
                    result.workdays.add(d)
                    line_of.setdefault(d, node.start_mark.line + 1)
            elif key == "holidays":
                for date_node, name_node in items(value_node, "holidays", yaml.MappingNode,
                                                  "应为 日期: 名称 的映射", "expected a mapping of date: name"):
                    d = as_date(date_node, "holidays")
                    name = scalar(name_node)
                    if not isinstance(name, str) or not name.strip():
                        raise fail(name_node, f"holidays: {d}", "应写明假日名称", "expected the holiday's name")
                    if d in result.holidays:
                        raise fail(date_node, f"holidays: {d}", "日期重复", "duplicate date")
                    result.holidays.add(d)
                    line_of.setdefault(d, date_node.start_mark.line + 1)
            else:
                raise fail(key_node, str(key), "不认识的键，只允许 years / workdays / holidays",
                           "unknown key; only years / workdays / holidays are allowed")
        if both := sorted(result.workdays & result.holidays):
            d = both[0]
            raise CalendarOverridesError(path, line_of[d], str(d), "同一天既是上班日又是节假日",
                                         "the same day is listed as both workday and holiday")
        return result
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CalendarOverridesError(
            path, mark.line + 1 if mark else None, "(YAML)", f"无法解析 YAML：{exc}", f"not valid YAML: {exc}"
        ) from None
    finally:
        loader.dispose()
