"""Triage over Chinese case text: category, urgency, out of scope, likely duplicates."""

from __future__ import annotations

from datetime import datetime, timedelta

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.triage.new_cases import triage_new_cases
from tasks.triage.rules import TriageRules

AS_OF = datetime.fromisoformat("2026-11-21T02:00:00+08:00")


def test_rules_pick_category_by_keywords_and_raise_urgency(settings: Settings):
    rules = TriageRules(Resources(settings).roster)
    v = rules.judge("楼下KTV太吵", "每晚噪音扰民，多次反映无果", None, "normal")
    assert (v.category, v.urgency) == ("noise", "high")
    assert "KTV" in v.category_reason and "多次反映" in v.urgency_reason
    # The longest keyword wins its text: 建筑垃圾 is one hit for sanitation, not two.
    assert rules.judge("建筑垃圾堵路", "", None, "normal").category == "sanitation"
    # A category the source gave (by Chinese name) is kept; urgency is never lowered.
    v = rules.judge("路灯不亮", "", "治安", "urgent")
    assert (v.category, v.urgency) == ("public_order", "urgent")
    assert rules.judge("外墙瓷砖坠落", "", None, "normal").urgency == "urgent"
    assert rules.judge("邻里纠纷", "两家人吵架", None, "normal").category is None
    v = rules.judge("咨询离婚财产", "", None, "normal")
    assert v.out_of_scope and "court matter" in v.out_of_scope and "离婚" in v.out_of_scope


def add_case(wh, case_id, title, address, received_at, status="new"):
    wh.append("cases", [{"case_id": case_id, "source": "t", "source_ref": case_id, "received_at": received_at,
                         "title": title, "description": title, "urgency": "normal", "community_id": "xingguang",
                         "address": address, "status": status, "created_at": received_at,
                         "updated_at": received_at}])


def test_new_cases_are_triaged_rejected_or_linked_with_events(settings: Settings):
    resources = Resources(settings)
    day = datetime(2026, 11, 18, 2)
    with resources.warehouse() as wh:
        add_case(wh, "LD-2026-000001", "星光路12号KTV噪音", "星光路12号", day)
        add_case(wh, "LD-2026-000002", "KTV噪声太大", "星光路 12 号", day + timedelta(days=2))
        add_case(wh, "LD-2026-000003", "KTV噪音又来了", "星光路12号", day - timedelta(days=30), status="closed")
        add_case(wh, "LD-2026-000004", "遗产纠纷咨询", "文化街1号", day)
        add_case(wh, "LD-2026-000005", "邻居吵架", "文化街2号", day)
        result = triage_new_cases(wh, resources.roster, AS_OF, "run-1")
        cases = {r["case_id"]: r for r in wh.rows("SELECT * FROM cases")}
        events = wh.rows("SELECT case_id, kind, from_status, to_status, reason FROM case_events ORDER BY case_id")
        again = triage_new_cases(wh, resources.roster, AS_OF, "run-2")

    assert (result.triaged, result.duplicates, result.rejected_out_of_scope, result.uncategorised) == (2, 1, 1, 1)
    assert cases["LD-2026-000001"]["status"] == "triaged" and cases["LD-2026-000001"]["category"] == "noise"
    dup = cases["LD-2026-000002"]
    assert dup["status"] == "rejected" and dup["duplicate_of"] == "LD-2026-000001"  # linked, not dropped
    assert cases["LD-2026-000004"]["status"] == "rejected" and "court matter" in cases["LD-2026-000004"]["status_reason"]
    assert cases["LD-2026-000005"]["status"] == "triaged" and cases["LD-2026-000005"]["category"] is None
    assert [e["kind"] for e in events] == ["triaged", "duplicate_linked", "rejected", "triaged"]
    assert all(e["from_status"] == "new" for e in events)
    assert again.triaged == 0  # nothing new: a rerun changes nothing
