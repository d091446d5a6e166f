"""Routing: lead and supporting units by rule, resource list, load and record; the claim list;
re-routing after a decline until the case needs a joint meeting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from liandong.resources import Resources
from liandong.roster import Roster
from liandong.settings import Settings
from tasks.routing.assign import claim_case, reroute, route_triaged_cases, take_unclaimed_off_the_claim_list
from tasks.routing.candidates import Router, UnitStats
from tasks.routing.notices import assignment_notices, claim_list_digests

AS_OF = datetime.fromisoformat("2026-11-21T02:00:00+08:00")  # a Saturday


def triaged(wh, case_id, category, community="xingguang", urgency="normal"):
    wh.append("cases", [{"case_id": case_id, "source": "t", "source_ref": case_id, "received_at": datetime(2026, 11, 20),
                         "title": f"{category} 问题", "description": "居民反映", "category": category,
                         "urgency": urgency, "community_id": community, "address": "星光路1号",
                         "reporter_name": "王大妈", "reporter_phone": "13812345678", "status": "triaged",
                         "created_at": datetime(2026, 11, 20), "updated_at": datetime(2026, 11, 20)}])


@pytest.fixture
def resources(settings: Settings) -> Resources:
    return Resources(settings)


def test_rule_picks_lead_and_support_with_reasons_and_working_day_windows(resources):
    with resources.warehouse() as wh:
        triaged(wh, "LD-2026-000001", "noise")
        triaged(wh, "LD-2026-000002", "sanitation", community="donghu")
        result = route_triaged_cases(wh, resources.roster, resources.calendar, AS_OF, "run")
        rows = wh.rows("SELECT * FROM assignments ORDER BY assignment_id")
        case = wh.rows("SELECT status, lead_unit_id, due_at FROM cases WHERE case_id = 'LD-2026-000001'")[0]
        event = wh.rows("SELECT reason, detail FROM case_events WHERE kind = 'assigned' ORDER BY case_id")[0]
    assert result.assigned == 2 and result.supporting == 1
    assert [(r["case_id"], r["unit_id"], r["role"]) for r in rows] == [
        ("LD-2026-000001", "pcs-xg", "lead"), ("LD-2026-000001", "eco-bureau", "support"),
        ("LD-2026-000002", "eco-bureau", "lead")]  # 东湖's own sanitation rule beats the general one
    assert case == {"status": "assigned", "lead_unit_id": "pcs-xg", "due_at": datetime(2026, 12, 4, 15, 59, 59)}
    # Accept by the end of the first working day after Saturday: Monday 23:59:59 in Shanghai.
    assert rows[0]["accept_by"] == datetime(2026, 11, 23, 15, 59, 59)
    detail = json.loads(event["detail"])
    assert detail["rule"]["lead"] == "kind:police_station" and detail["chosen"] == "pcs-xg"
    assert [c["unit_id"] for c in detail["candidates"]] == ["pcs-xg", "eco-bureau"]
    assert "police_station" in event["reason"] and "load 0/10" in event["reason"]


def test_urgent_cases_get_hours_to_accept_and_one_working_day(resources):
    with resources.warehouse() as wh:
        triaged(wh, "LD-2026-000001", "roads", urgency="urgent")
        route_triaged_cases(wh, resources.roster, resources.calendar, AS_OF, "run")
        a = wh.rows("SELECT accept_by, due_at FROM assignments")[0]
    # Saturday → Monday 09:00 + 4 office hours = 13:00 Shanghai = 05:00 UTC; done by Monday night.
    assert a == {"accept_by": datetime(2026, 11, 23, 5, 0), "due_at": datetime(2026, 11, 23, 15, 59, 59)}


def test_load_against_capacity_then_on_time_record_order_the_candidates(resources):
    roster: Roster = resources.roster
    data = roster.model_dump()
    second = {**data["units"][0], "id": "pcs-2", "name": "第二派出所",
              "contacts": [{"name": "赵", "email": "zhao@pcs2.example.cn"}]}
    roster = Roster.model_validate({**data, "units": [*data["units"], second]})
    busy = Router(roster, {"pcs-xg": UnitStats(open_load=9), "pcs-2": UnitStats(open_load=2)})
    assert [c.unit_id for c in busy.route("noise", "xingguang").leads][:2] == ["pcs-2", "pcs-xg"]
    tied = Router(roster, {"pcs-xg": UnitStats(2, 10, 9), "pcs-2": UnitStats(2, 10, 5)})
    assert tied.route("noise", "xingguang").leads[0].unit_id == "pcs-xg"  # better record breaks the tie
    full = Router(roster, {"pcs-xg": UnitStats(open_load=10), "pcs-2": UnitStats(open_load=10)})
    assert all(c.full for c in full.route("noise", "xingguang").leads[:2])


def test_decline_moves_to_the_next_candidate_then_to_a_joint_meeting(resources):
    with resources.warehouse() as wh:
        triaged(wh, "LD-2026-000001", "noise")
        route_triaged_cases(wh, resources.roster, resources.calendar, AS_OF, "run")
        wh.execute("UPDATE assignments SET state = 'declined', decline_reason = '不属于我单位' "
                   "WHERE unit_id = 'pcs-xg'")
        first = reroute(wh, resources.roster, resources.calendar, AS_OF, "run")
        lead = wh.rows("SELECT unit_id, candidate_rank FROM assignments WHERE role = 'lead' AND state = 'notified'")
        wh.execute("UPDATE assignments SET state = 'expired' WHERE assignment_id = 'LD-2026-000001/3'")
        second = reroute(wh, resources.roster, resources.calendar, AS_OF, "run")
        status = wh.scalar("SELECT status FROM cases")
        kinds = [r[0] for r in wh.execute("SELECT kind FROM case_events ORDER BY event_id").fetchall()]
    assert first.rerouted == 1 and lead == [{"unit_id": "eco-bureau", "candidate_rank": 1}]
    assert second.needs_meeting == 1 and status == "needs_meeting"
    assert kinds == ["assigned", "support_assigned", "assigned", "needs_meeting"]


def test_claim_list_first_valid_claim_wins(resources):
    with resources.warehouse() as wh:
        triaged(wh, "LD-2026-000001", "elderly_care", community="donghu")
        result = route_triaged_cases(wh, resources.roster, resources.calendar, AS_OF, "run")
        offers = wh.rows("SELECT unit_id, state FROM claim_offers ORDER BY unit_id")
        digests = claim_list_digests(wh, resources.roster)
        assert claim_case(wh, resources.roster, resources.calendar, "LD-2026-000001", "pcs-xg", AS_OF, "r") == "not_offered"
        assert claim_case(wh, resources.roster, resources.calendar, "LD-2026-000001", "acme", AS_OF, "r") == "claimed"
        assert claim_case(wh, resources.roster, resources.calendar, "LD-2026-000001", "hospital", AS_OF, "r") == "already_taken"
        case = wh.rows("SELECT status, lead_unit_id FROM cases")[0]
        after = wh.rows("SELECT unit_id, state FROM claim_offers ORDER BY unit_id")
    assert result.claim_listed == 1
    assert offers == [{"unit_id": "acme", "state": "open"}, {"unit_id": "hospital", "state": "open"}]
    assert sorted(d.to[0].email for d in digests) == ["alice@acme.example.com", "sun@hospital.example.cn"]
    assert next(d for d in digests if d.unit_id == "acme").context["cases"][0]["category"] == "Elderly care"
    assert case == {"status": "in_progress", "lead_unit_id": "acme"}
    assert after == [{"unit_id": "acme", "state": "claimed"}, {"unit_id": "hospital", "state": "lost"}]


def test_a_case_nobody_claims_in_time_goes_to_the_joint_meeting_and_a_late_claim_is_refused(resources):
    with resources.warehouse() as wh:
        triaged(wh, "LD-2026-000001", "elderly_care", community="donghu")
        route_triaged_cases(wh, resources.roster, resources.calendar, AS_OF, "run")
        claim_by = wh.scalar("SELECT max(claim_by) FROM claim_offers")
        before = take_unclaimed_off_the_claim_list(wh, AS_OF + timedelta(days=1), "run")  # still time to claim
        after = take_unclaimed_off_the_claim_list(wh, claim_by.replace(tzinfo=UTC) + timedelta(minutes=1), "run")
        late = claim_case(wh, resources.roster, resources.calendar, "LD-2026-000001", "acme", AS_OF + timedelta(days=5), "r")
        case = wh.rows("SELECT status, lead_unit_id FROM cases")[0]
        offers = {r["state"] for r in wh.rows("SELECT state FROM claim_offers")}
        event = wh.rows("SELECT from_status, to_status, detail FROM case_events WHERE kind = 'needs_meeting'")
    assert (before, after) == (0, 1)
    assert case == {"status": "needs_meeting", "lead_unit_id": None} and offers == {"expired"}
    assert [(e["from_status"], e["to_status"], json.loads(e["detail"])["offered_to"]) for e in event] == [
        ("claim_listed", "needs_meeting", ["acme", "hospital"])]
    assert late == "claim_period_over"  # the reply flow puts it on the attention list, with the unit's offer


def test_notices_show_the_reporter_to_the_lead_only(resources):
    with resources.warehouse() as wh:
        triaged(wh, "LD-2026-000001", "noise")
        route_triaged_cases(wh, resources.roster, resources.calendar, AS_OF, "run")
        drafts = {d.unit_id: d for d in assignment_notices(wh, resources.roster)}
    assert drafts["pcs-xg"].reveal_reporter and not drafts["eco-bureau"].reveal_reporter
    assert drafts["pcs-xg"].context["support_unit_names"] == ["生态环境分局"]
    assert drafts["eco-bureau"].context["case"]["category"] == "噪音扰民"
