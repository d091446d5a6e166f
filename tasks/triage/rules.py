"""Triage rules over Chinese case text: category by keywords, urgency, out of scope, duplicates.

All rules come from the roster (`categories[].keywords`, `triage`), so a community that says
“扰民” where another says “噪声” changes a file, not the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from liandong.roster import URGENCIES, Roster

_NOT_ADDRESS = re.compile(r"[\s,，。·\-—()（）#号]")


@dataclass(slots=True)
class Verdict:
    category: str | None
    category_reason: str
    urgency: str
    urgency_reason: str
    out_of_scope: str | None = None  # the reason, when the case is outside community coordination


class TriageRules:
    def __init__(self, roster: Roster):
        self.names = {c.name: c.id for c in roster.categories} | {c.id: c.id for c in roster.categories}
        self.order = {c.id: i for i, c in enumerate(roster.categories)}
        # Matching is case-insensitive (KTV, ktv), so the lookup is keyed by the lower-cased word.
        self.keyword_category = {k.lower(): c.id for c in roster.categories for k in c.keywords}
        self.keywords = _alternation(self.keyword_category)
        self.urgent = _alternation(roster.triage.urgent_keywords)
        self.high = _alternation(roster.triage.high_keywords)
        self.out_of_scope = [(_alternation(r.keywords), r.reason) for r in roster.triage.out_of_scope]

    def judge(self, title: str, description: str, category: str | None, urgency: str) -> Verdict:
        text = f"{title}\n{description}"
        for pattern, reason in self.out_of_scope:
            if pattern and (m := pattern.search(text)):
                return Verdict(None, "", urgency, "", out_of_scope=f"{reason}（关键词 / keyword: {m.group(0)}）")
        given = self.names.get(category or "")
        if given:
            chosen, why = given, "来源已给出类别 / category given by the source"
        else:
            chosen, why = self._by_keywords(text)
        level, level_why = urgency, "来源给出 / given by the source"
        for pattern, candidate in ((self.urgent, "urgent"), (self.high, "high")):
            if pattern and (m := pattern.search(text)) and URGENCIES.index(candidate) < URGENCIES.index(level):
                level, level_why = candidate, f"关键词 / keyword: {m.group(0)}"
                break
        return Verdict(chosen, why, level, level_why)

    def _by_keywords(self, text: str) -> tuple[str | None, str]:
        found = self.keywords.findall(text) if self.keywords else []
        if not found:
            return None, "没有匹配的关键词 / no keyword matched"
        hits: dict[str, list[str]] = {}
        for word in found:
            hits.setdefault(self.keyword_category[word.lower()], []).append(word)
        # Most keyword hits wins; ties go to the category listed first in the roster.
        best = min(hits, key=lambda c: (-len(hits[c]), self.order[c])) if len(hits) > 1 else next(iter(hits))
        return best, f"关键词 / keywords: {'、'.join(dict.fromkeys(hits[best]))}"


def _alternation(words) -> re.Pattern[str] | None:
    words = sorted({w for w in words if w}, key=len, reverse=True)  # longest first: 建筑垃圾 before 垃圾
    return re.compile("|".join(map(re.escape, words)), re.IGNORECASE) if words else None


def address_key(address: str | None) -> str:
    return _NOT_ADDRESS.sub("", address or "").lower()


class DuplicateFinder:
    """A likely duplicate: same place (normalised address) and category within N days."""

    def __init__(self, window_days: int):
        self.window = timedelta(days=window_days)
        self.seen: dict[tuple[str, str], list[tuple[datetime, str]]] = {}

    def remember(self, case_id: str, category: str | None, address: str | None, received_at: datetime) -> None:
        key = (category or "", address_key(address))
        if key[0] and key[1]:
            self.seen.setdefault(key, []).append((received_at, case_id))

    def original_of(self, case_id: str, category: str | None, address: str | None, received_at: datetime) -> str | None:
        key = (category or "", address_key(address))
        if not (key[0] and key[1]) or self.window.days == 0:
            return None
        earlier = [(t, c) for t, c in self.seen.get(key, ()) if c != case_id and received_at - self.window <= t <= received_at]
        return min(earlier)[1] if earlier else None
