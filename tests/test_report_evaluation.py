"""Two-way evaluation (双向评价): reading a unit's score from its reply, storing both sides;
and the quarters every report is counted in."""

from __future__ import annotations

from datetime import datetime

import pytest

from tasks.report.evaluation import Evaluation, community_side, read_evaluation, record_unit_evaluation
from tasks.report.quarters import Quarter
from tests.test_report_kpis import kpis, warehouse  # noqa: F401  (fixtures)

AT = datetime.fromisoformat("2026-12-20T10:00:00+08:00")


@pytest.mark.parametrize(("text", "score", "comment"), [
    ("评分：4\n沟通顺畅，会议通知可以更早", 4, "沟通顺畅，会议通知可以更早"),
    ("5分，非常满意", 5, "非常满意"),
    ("打分 三 分 希望多开协调会", 3, "希望多开协调会"),
    ("4/5 responsive coordinators", 4, "responsive coordinators"),
    ("Score: 2 - meetings start late", 2, "meetings start late"),
    ("5", 5, ""),
    ("四星，有问题请打13912345678", 4, "有问题请打139****5678"),
])
def test_scores_and_comments_are_read_from_replies(text, score, comment):
    assert read_evaluation(text) == Evaluation(score, comment)


@pytest.mark.parametrize("text", ["很好", "评分：10", "打 6 分", "2026年的评价", ""])
def test_replies_without_a_score_of_one_to_five_are_not_guessed(text):
    assert read_evaluation(text) is None


def test_a_later_answer_replaces_the_earlier_one(warehouse):  # noqa: F811
    record_unit_evaluation(warehouse, "2026", "acme", "donghu", Evaluation(2, "first"), AT)
    record_unit_evaluation(warehouse, "2026", "acme", "donghu", Evaluation(4, "on reflection"), AT)
    assert warehouse.rows("SELECT score, comment FROM evaluations WHERE rater = 'unit:acme'") == [
        {"score": 4.0, "comment": "on reflection"}]


def test_the_community_side_is_each_communitys_scorecard(kpis):  # noqa: F811
    rows = {(r["rater"], r["ratee"]): r for r in community_side(kpis, AT)}
    pcs = rows[("community:xingguang", "unit:pcs-xg")]
    assert pcs["period"] == "2026-Q4" and pcs["score"] == 3.75  # 75/100 on a 5-point scale
    assert pcs["comment"] == "记分卡 75.0/100，3 件，第 1/2 名，红榜 / scorecard 75.0/100, 3 cases, rank 1 of 2, red list"
    assert "未排名" in rows[("community:donghu", "unit:acme")]["comment"]  # one case: not ranked
    assert len(rows) == 6


def test_quarters_in_beijing_time():
    q4 = Quarter.parse("2026-Q4")
    assert (q4.start_utc, q4.end_utc) == (datetime(2026, 9, 30, 16), datetime(2026, 12, 31, 16))
    assert (q4.first_day.isoformat(), q4.last_day.isoformat()) == ("2026-10-01", "2026-12-31")
    assert q4.previous().label == "2026-Q3" and q4.previous(4).label == "2025-Q4" and q4.next().label == "2027-Q1"
    assert Quarter.containing(datetime.fromisoformat("2026-12-31T16:30:00+00:00")).label == "2027-Q1"
    assert (q4.name("zh-CN"), q4.name("en"), q4.index) == ("2026年第四季度", "Q4 2026", 20264)
    with pytest.raises(ValueError, match="2026-Q4"):
        Quarter.parse("2026-Q5")
