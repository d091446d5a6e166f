"""Calendar quarters in Asia/Shanghai local time: `2026-Q4` is 2026-10-01 00:00 to 2027-01-01
00:00 Beijing time, which the warehouse (naive UTC) sees as 2026-09-30 16:00 to 2026-12-31 16:00."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from liandong.clock import SHANGHAI, naive_utc

QUARTER_PATTERN = r"^\d{4}-Q[1-4]$"
_ZH_NUMBERS = "一二三四"


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        if not re.fullmatch(QUARTER_PATTERN, text.strip()):
            raise ValueError(f"季度应写作 2026-Q4 这样的格式，收到 {text!r} / a quarter looks like 2026-Q4, got {text!r}")
        year, number = text.strip().split("-Q")
        return cls(int(year), int(number))

    @classmethod
    def containing(cls, moment: datetime) -> Quarter:
        """The quarter of an aware moment, in Beijing time."""
        day = moment.astimezone(SHANGHAI).date()
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def index(self) -> int:
        """20264 for 2026-Q4: how the KPI queries number quarters while counting."""
        return self.year * 10 + self.number

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.number}"

    def name(self, locale: str) -> str:
        return f"{self.year}年第{_ZH_NUMBERS[self.number - 1]}季度" if locale == "zh-CN" else f"Q{self.number} {self.year}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.next().first_day.toordinal() - 1)

    @property
    def start_utc(self) -> datetime:
        """The first moment, as a warehouse timestamp (naive UTC)."""
        return naive_utc(datetime.combine(self.first_day, time(), SHANGHAI))

    @property
    def end_utc(self) -> datetime:
        """The first moment after the quarter, as a warehouse timestamp (naive UTC)."""
        return self.next().start_utc

    def next(self) -> Quarter:
        return Quarter(self.year + self.number // 4, self.number % 4 + 1)

    def previous(self, n: int = 1) -> Quarter:
        index = self.year * 4 + self.number - 1 - n
        return Quarter(index // 4, index % 4 + 1)

    def __str__(self) -> str:
        return self.label
