"""Cases whose deadline cannot be counted because the calendar lacks a year: collected during a
stage and reported as one bilingual line per missing year, loud in the run summary, while the
stage goes on with every other case (a guessed Monday–Friday calendar would move deadlines)."""

from __future__ import annotations

from dataclasses import dataclass, field

from liandong.workdays import CalendarYearNotCovered

SHOWN = 5  # case numbers named in the line; the rest are counted


@dataclass
class CalendarGaps:
    cases: dict[int, list[str]] = field(default_factory=dict)
    errors: dict[int, CalendarYearNotCovered] = field(default_factory=dict)

    def add(self, case_id: str, exc: CalendarYearNotCovered) -> None:
        self.cases.setdefault(exc.year, []).append(case_id)
        self.errors.setdefault(exc.year, exc)

    def lines(self, what_zh: str, what_en: str) -> list[str]:
        """'3 件案件的提醒无法计算（…）：<fix> / Reminders of 3 cases cannot be computed (…): <fix>'."""
        out = []
        for year in sorted(self.cases):
            ids, exc = self.cases[year], self.errors[year]
            named = "、".join(ids[:SHOWN]) + ("…" if len(ids) > SHOWN else "")
            named_en = ", ".join(ids[:SHOWN]) + (", …" if len(ids) > SHOWN else "")
            out.append(f"{len(ids)} 件案件的{what_zh}无法计算（{named}）：{exc.zh}"
                       f" / The {what_en} of {len(ids)} cases cannot be computed ({named_en}): {exc.en}")
        return out
