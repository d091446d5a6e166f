"""Two-way evaluation (双向评价): member units score their community's coordination, and the
community scores its units. Both land in `evaluations` (period, rater, ratee, score, comment):

- a unit's score of its community: rater `unit:<id>`, ratee `community:<id>`, 1–5 and a
  comment, read from the unit contact's reply by `read_evaluation` and stored by
  `record_unit_evaluation` (period `2026` for the yearly round, or a quarter for one on demand);
- the community's side is its unit scorecard: every quarterly run stores each unit's score in
  each community (rater `community:<id>`, ratee `unit:<id>`, period the quarter) on the same
  5-point scale, score ÷ 20, with the rank and list in the comment.

A later answer for the same period, rater and ratee replaces the earlier one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from liandong.clock import naive_utc
from tasks.mail.privacy import redact
from tasks.report.kpis import QuarterlyKpis
from warehouse.store import Warehouse, load_query

COMMENT_LIMIT = 500
_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_DIGIT = r"([1-5一二两三四五])"
# Where the score can be: "评分：4" / "打分 4" / "score: 4" / "4分" / "4 星" / "4/5", or a line that is
# only the number. Digits 6–9 or 10 never match: a score is 1 to 5.
_SCORE = re.compile(
    rf"(?:评分|打分|分数|得分|score)\s*[:：是为]?\s*{_DIGIT}(?![0-9])\s*(?:分|颗星|星)?"
    rf"|(?<![0-9]){_DIGIT}\s*(?:分|颗星|星)"
    rf"|(?<![0-9]){_DIGIT}\s*/\s*5(?![0-9])"
    rf"|^\s*{_DIGIT}\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_SEPARATORS = " \t\r\n,，。.;；:：、-—"


@dataclass(frozen=True)
class Evaluation:
    score: int
    comment: str


def read_evaluation(text: str) -> Evaluation | None:
    """The score (1–5) and comment of a reply's unquoted text, or None when it gives no score."""
    match = _SCORE.search(text)
    if match is None:
        return None
    digit = next(g for g in match.groups() if g)
    score = _NUMERALS.get(digit) or int(digit)
    comment = (text[:match.start()] + " " + text[match.end():]).strip(_SEPARATORS)
    comment = " ".join(redact({"comment": comment})["comment"].split())[:COMMENT_LIMIT]
    return Evaluation(score, comment)


def record_unit_evaluation(wh: Warehouse, period: str, unit_id: str, community_id: str, evaluation: Evaluation,
                           at: datetime) -> None:
    _record(wh, [{"period": period, "rater": f"unit:{unit_id}", "ratee": f"community:{community_id}",
                  "score": float(evaluation.score), "comment": evaluation.comment or None,
                  "created_at": naive_utc(at)}])


def community_side(kpis: QuarterlyKpis, at: datetime) -> list[dict[str, Any]]:
    """Each community's scorecard of its units as evaluation rows of the quarter."""
    rows = []
    for community_id, cards in kpis.community_scorecards.items():
        ranked = sum(c["rank"] is not None for c in cards)
        for card in cards:
            if card["score"] is None:
                continue
            rows.append({"period": kpis.quarter, "rater": f"community:{community_id}", "ratee": f"unit:{card['key']}",
                         "score": round(card["score"] / 20, 2), "created_at": naive_utc(at),
                         "comment": _scorecard_comment(card, ranked)})
    return rows


def _scorecard_comment(card: dict[str, Any], ranked: int) -> str:
    zh = f"记分卡 {card['score']:.1f}/100，{card['cases']} 件，"
    en = f"scorecard {card['score']:.1f}/100, {card['cases']} cases, "
    if card["rank"] is None:
        return f"{zh}未排名（案件数不足） / {en}not ranked (too few cases)"
    listed = {"red": ("，红榜", ", red list"), "yellow": ("，黄榜", ", yellow list")}.get(card["list"], ("", ""))
    return f"{zh}第 {card['rank']}/{ranked} 名{listed[0]} / {en}rank {card['rank']} of {ranked}{listed[1]}"


def record_community_side(wh: Warehouse, kpis: QuarterlyKpis, at: datetime) -> int:
    rows = community_side(kpis, at)
    _record(wh, rows)
    return len(rows)


def _record(wh: Warehouse, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    wh.con.register("_evaluations", pa.Table.from_pylist(rows))
    try:
        wh.execute(load_query("evaluations_record"))
    finally:
        wh.con.unregister("_evaluations")
