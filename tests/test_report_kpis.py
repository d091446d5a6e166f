"""Quarterly KPIs on a warehouse built by hand, with every answer worked out on paper.

The fixture (`build_fixture`) is ten cases around 2026-Q4 with the events the stages write.
Times are Beijing time; the calendar is Monday–Friday with the 2026 National Day holidays
(1, 2, 5, 6, 7 October off, Saturday 10 October worked), so working-day spans can be counted
by hand. The comment above each case says what it tests and what it should count.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from liandong.settings import ReportSettings
from liandong.workdays import FixedWorkCalendar
from tasks.report.kpis import QuarterlyKpis, compute_kpis, publish_quarters, workday_table
from tasks.report.quarters import Quarter
from warehouse.store import Warehouse, open_warehouse

CALENDAR = FixedWorkCalendar(
    holidays={date(2026, 10, d) for d in (1, 2, 5, 6, 7)}, workdays={date(2026, 10, 10)}, years=range(2025, 2028))
Q4 = Quarter(2026, 4)
OPTIONS = ReportSettings(min_cases_ranked=2)


def t(local: str) -> datetime:
    """Beijing time as the warehouse stores it (naive UTC)."""
    return datetime.fromisoformat(local) - timedelta(hours=8)


def eod(day: str) -> datetime:
    return t(f"{day} 23:59:59")


class Builder:
    """Rows for a hand-built warehouse; `write` appends them through Arrow like the stages do."""

    def __init__(self) -> None:
        self.cases: list[dict] = []
        self.events: list[dict] = []
        self.assignments: list[dict] = []
        self.lookbacks: list[dict] = []
        self.meetings: list[dict] = []
        self.agenda: list[dict] = []
        self.evaluations: list[dict] = []

    def case(self, n: int, community: str, grid: str, category: str, source: str, received: str,
             title: str = "居民诉求", reporter: tuple[str, str] = ("王小明", "13812345678")) -> str:
        case_id = f"LD-2026-{n:06d}"
        self.cases.append({
            "case_id": case_id, "source": source, "source_ref": case_id, "received_at": t(received), "title": title,
            "description": "居民反映的问题", "category": category, "urgency": "normal", "community_id": community,
            "grid_id": grid, "reporter_name": reporter[0], "reporter_phone": reporter[1], "status": "new",
            "created_at": t(received), "updated_at": t(received)})
        self.event(case_id, received, "received", None, "new")
        return case_id

    def event(self, case_id: str, when: str, kind: str, from_status: str | None = None, to_status: str | None = None,
              unit: str | None = None, assignment: str | None = None, detail: dict | None = None) -> None:
        self.events.append({
            "case_id": case_id, "occurred_at": t(when), "actor": f"unit:{unit}" if unit else "system", "kind": kind,
            "from_status": from_status, "to_status": to_status, "unit_id": unit, "assignment_id": assignment,
            "detail": json.dumps(detail) if detail else None})

    def assign(self, case_id: str, n: int, unit: str, when: str, accept_by: str, due: str, role: str = "lead",
               kind: str = "assigned", from_status: str | None = "triaged") -> str:
        assignment_id = f"{case_id}/{n}"
        self.assignments.append({
            "assignment_id": assignment_id, "case_id": case_id, "unit_id": unit, "role": role, "state": "notified",
            "candidate_rank": n - 1, "accept_by": eod(accept_by), "due_at": eod(due),
            "created_at": t(when), "updated_at": t(when)})
        if role == "lead":
            next(c for c in self.cases if c["case_id"] == case_id)["lead_unit_id"] = unit  # as routing moves it
            to_status = "in_progress" if kind == "claimed" else "assigned"
            self.event(case_id, when, kind, from_status, to_status, unit, assignment_id)
        else:
            self.event(case_id, when, "support_assigned", None, None, unit, assignment_id)
        return assignment_id

    def lookback(self, case_id: str, n: int, state: str, when: str, satisfaction: str | None = None) -> None:
        """A look-back that ended `when`: the row as the replies and look-back stages leave it, and
        their event (lookback_answered or lookback_no_response)."""
        lookback_id = f"{case_id}/L{n}"
        self.lookbacks.append({
            "lookback_id": lookback_id, "case_id": case_id, "due_at": t(when) - timedelta(days=2), "state": state,
            "fixed": None, "satisfaction": satisfaction, "asked_at": t(when) - timedelta(days=2),
            "answered_at": t(when) if state == "answered" else None,
            "created_at": t(when) - timedelta(days=30), "updated_at": t(when)})
        self.event(case_id, when, f"lookback_{state}", detail={"lookback_id": lookback_id})

    def extend(self, case_id: str, assignment_id: str, when: str, to_due: str) -> None:
        """An extension as tasks/chase grants it: the event, and the assignment's deadline moved in place."""
        row = next(a for a in self.assignments if a["assignment_id"] == assignment_id)
        self.event(case_id, when, "extension_granted", unit=row["unit_id"], assignment=assignment_id,
                   detail={"from_due": row["due_at"].isoformat(), "to_due": eod(to_due).isoformat()})
        row["due_at"] = eod(to_due)

    def meeting(self, meeting_id: str, community: str, kind: str, starts: str, status: str = "held",
                chair: str | None = None) -> None:
        self.meetings.append({
            "meeting_id": meeting_id, "community_id": community, "kind": kind, "starts_at": t(starts),
            "chair_unit_id": chair, "status": status, "created_at": t(starts), "updated_at": t(starts)})

    def item(self, meeting_id: str, position: int, case_id: str | None, decided: str | None,
             decision: str | None = "由牵头单位限期办理") -> None:
        self.agenda.append({
            "meeting_id": meeting_id, "position": position, "case_id": case_id,
            "item_kind": "case" if case_id else "topic", "decision": decision if decided else None,
            "decided_at": t(decided) if decided else None})

    def write(self, wh: Warehouse) -> None:
        for table, rows in [("cases", self.cases), ("case_events", self.events), ("assignments", self.assignments),
                            ("lookbacks", self.lookbacks), ("meetings", self.meetings),
                            ("agenda_items", self.agenda), ("evaluations", self.evaluations)]:
            wh.append(table, rows)


def build_fixture(wh: Warehouse) -> None:
    b = Builder()

    # C1: received in Q3 and resolved in Q4. Accepted in time in Q3 (1 working day). Resolved on
    # 12 Oct, before its due date: 6 working days from the assignment across the holidays
    # (29, 30 Sep; 8, 9, Saturday 10, 12 Oct). Verified and rated satisfied in Q4.
    c1 = b.case(1, "xingguang", "xg-01", "noise", "hotline", "2026-09-28 10:00")
    b.event(c1, "2026-09-28 10:05", "triaged", "new", "triaged")
    a = b.assign(c1, 1, "pcs-xg", "2026-09-28 11:00", accept_by="2026-09-29", due="2026-10-16")
    b.event(c1, "2026-09-29 09:00", "accepted", "assigned", "in_progress", "pcs-xg", a)
    b.event(c1, "2026-10-12 10:00", "done_reported", "in_progress", "resolved", "pcs-xg", a)
    b.event(c1, "2026-11-20 10:00", "verified", "resolved", "verified")
    b.event(c1, "2026-11-21 09:00", "closed", "verified", "closed")
    b.lookback(c1, 1, "answered", "2026-11-20 10:00", "satisfied")

    # C2: reopened then fixed. Accepted late (window closed Saturday 10 Oct; 2 working days).
    # Resolved on time (8 working days), reopened at the look-back with a new deadline, resolved
    # again on time (5 working days), then verified: two deadlines met, one reopening.
    c2 = b.case(2, "xingguang", "xg-02", "sanitation", "grid", "2026-10-09 09:00")
    b.event(c2, "2026-10-09 09:05", "triaged", "new", "triaged")
    a = b.assign(c2, 1, "urban-mgmt", "2026-10-09 14:00", accept_by="2026-10-10", due="2026-10-23")
    s = b.assign(c2, 2, "eco-bureau", "2026-10-09 14:00", accept_by="2026-10-10", due="2026-10-23", role="support")
    b.event(c2, "2026-10-09 16:00", "accepted", None, None, "eco-bureau", s)
    b.event(c2, "2026-10-12 09:00", "accepted", "assigned", "in_progress", "urban-mgmt", a)
    b.event(c2, "2026-10-20 17:00", "done_reported", "in_progress", "resolved", "urban-mgmt", a)
    b.event(c2, "2026-11-25 10:00", "reopened", "resolved", "reopened", detail={"due_at": "2026-12-04T15:59:59"})
    b.event(c2, "2026-12-02 16:00", "done_reported", "reopened", "resolved", "urban-mgmt", a)
    b.event(c2, "2026-12-18 10:00", "verified", "resolved", "verified")
    b.lookback(c2, 1, "answered", "2026-11-25 10:00", "dissatisfied")
    b.lookback(c2, 2, "answered", "2026-12-18 10:00", "basically_satisfied")

    # C3: claimed from the claim list 2 working days after the offer, never resolved: late on
    # 29 Oct, escalated, open and overdue at the quarter's end by 45 working days. The title
    # carries the reporter's name and phone, which the report must mask.
    c3 = b.case(3, "donghu", "dh-01", "elderly_care", "hotline", "2026-10-13 09:00",
                title="独居老人王小明家无人照料，电话13987654321", reporter=("王小明", "13987654321"))
    b.event(c3, "2026-10-13 09:05", "triaged", "new", "triaged")
    b.event(c3, "2026-10-13 10:00", "claim_listed", "triaged", "claim_listed")
    b.assign(c3, 1, "hospital", "2026-10-15 11:00", accept_by="2026-10-16", due="2026-10-29", kind="claimed",
             from_status="claim_listed")
    b.event(c3, "2026-11-02 09:00", "escalated", unit="hospital")

    # C4: declined by the police station, re-routed, accepted the same day (0 working days),
    # extended from 17 to 24 Nov and resolved on 20 Nov: on time only because of the extension.
    # The look-back got no answer.
    c4 = b.case(4, "xingguang", "xg-01", "noise", "hotline", "2026-11-02 08:00")
    b.event(c4, "2026-11-02 08:05", "triaged", "new", "triaged")
    a = b.assign(c4, 1, "pcs-xg", "2026-11-02 09:00", accept_by="2026-11-03", due="2026-11-16")
    b.event(c4, "2026-11-02 15:00", "declined", unit="pcs-xg", assignment=a)
    a = b.assign(c4, 2, "eco-bureau", "2026-11-03 02:00", accept_by="2026-11-04", due="2026-11-17",
                 from_status="assigned")
    b.event(c4, "2026-11-03 10:00", "accepted", "assigned", "in_progress", "eco-bureau", a)
    b.extend(c4, a, "2026-11-16 10:00", to_due="2026-11-24")
    b.event(c4, "2026-11-20 15:00", "done_reported", "in_progress", "resolved", "eco-bureau", a)
    b.lookback(c4, 1, "no_response", "2026-12-22 10:00")
    b.event(c4, "2026-12-23 09:00", "closed", "resolved", "closed")

    # C5: assigned near the end, never accepted: the window closed in Q4 (not in time), expired.
    # Open at the end but due only in January: not overdue, and its deadline is not judged yet.
    c5 = b.case(5, "donghu", "dh-01", "sanitation", "open311", "2026-12-28 09:00")
    b.event(c5, "2026-12-28 09:05", "triaged", "new", "triaged")
    a = b.assign(c5, 1, "eco-bureau", "2026-12-29 02:00", accept_by="2026-12-30", due="2027-01-13")
    b.event(c5, "2026-12-31 02:00", "expired", unit="eco-bureau", assignment=a)

    # C6: still triaged at the quarter's end (open, no unit, no deadline); assigned in January.
    c6 = b.case(6, "xingguang", "xg-02", "roads", "hotline", "2026-12-30 09:00")
    b.event(c6, "2026-12-30 09:05", "triaged", "new", "triaged")
    b.assign(c6, 1, "urban-mgmt", "2027-01-04 02:00", accept_by="2027-01-05", due="2027-01-18")

    # C7: out of scope: received, rejected, never open.
    c7 = b.case(7, "xingguang", "xg-01", "noise", "hotline", "2026-10-20 09:00")
    b.event(c7, "2026-10-20 09:05", "rejected", "new", "rejected")

    # C8: all of it in Q3, for the trend.
    c8 = b.case(8, "xingguang", "xg-01", "sanitation", "grid", "2026-07-06 09:00")
    b.event(c8, "2026-07-06 09:05", "triaged", "new", "triaged")
    a = b.assign(c8, 1, "urban-mgmt", "2026-07-06 14:00", accept_by="2026-07-07", due="2026-07-20")
    b.event(c8, "2026-07-06 15:00", "accepted", "assigned", "in_progress", "urban-mgmt", a)
    b.event(c8, "2026-07-10 10:00", "done_reported", "in_progress", "resolved", "urban-mgmt", a)
    b.event(c8, "2026-08-15 10:00", "verified", "resolved", "verified")
    b.event(c8, "2026-08-15 11:00", "closed", "verified", "closed")
    b.lookback(c8, 1, "answered", "2026-08-15 10:00", "satisfied")

    # C9: the only case of ACME, perfect in every rate: below the minimum, so never ranked.
    # Sent to the joint meeting M2, whose decision was carried out on time.
    c9 = b.case(9, "donghu", "dh-01", "elderly_care", "hotline", "2026-11-06 09:00")
    b.event(c9, "2026-11-06 09:05", "triaged", "new", "triaged")
    b.event(c9, "2026-11-06 10:00", "needs_meeting", "triaged", "needs_meeting")
    a = b.assign(c9, 1, "acme", "2026-11-10 02:00", accept_by="2026-11-11", due="2026-11-24",
                 from_status="needs_meeting")
    b.event(c9, "2026-11-10 09:00", "accepted", "assigned", "in_progress", "acme", a)
    b.event(c9, "2026-11-11 10:00", "done_reported", "in_progress", "resolved", "acme", a)
    b.event(c9, "2026-12-01 10:00", "verified", "resolved", "verified")
    b.lookback(c9, 1, "answered", "2026-12-01 10:00", "satisfied")

    # C10: decided at meeting M1, accepted in 1 working day, resolved late (14 working days),
    # verified; the resident answered the look-back without rating it.
    c10 = b.case(10, "xingguang", "xg-02", "sanitation", "grid", "2026-11-03 09:00")
    b.event(c10, "2026-11-03 09:05", "triaged", "new", "triaged")
    b.event(c10, "2026-11-03 10:00", "needs_meeting", "triaged", "needs_meeting")
    a = b.assign(c10, 1, "eco-bureau", "2026-11-05 02:00", accept_by="2026-11-06", due="2026-11-19",
                 from_status="needs_meeting")
    b.event(c10, "2026-11-06 09:00", "accepted", "assigned", "in_progress", "eco-bureau", a)
    b.event(c10, "2026-11-25 10:00", "done_reported", "in_progress", "resolved", "eco-bureau", a)
    b.event(c10, "2026-12-10 10:00", "verified", "resolved", "verified")
    b.lookback(c10, 1, "answered", "2026-12-10 10:00", None)

    # C11: a duplicate found after assignment and closed as such before anyone answered: its
    # acceptance window and its deadline have no outcome; it is not open at the end.
    c11 = b.case(11, "xingguang", "xg-01", "noise", "hotline", "2026-11-10 09:00")
    b.event(c11, "2026-11-10 09:05", "triaged", "new", "triaged")
    b.assign(c11, 1, "pcs-xg", "2026-11-10 10:00", accept_by="2026-11-11", due="2026-11-24")
    b.event(c11, "2026-11-10 15:00", "duplicate_linked", "assigned", "rejected")

    # Meetings: M1 (星光, chaired by the police station) decided C10 (late) and a general topic,
    # left one item open; M2 and M5 (东湖, ad hoc) decided C9 (on time) and C5 (pending).
    # M3 is only scheduled and M4 was cancelled: neither counts.
    b.meeting("M1", "xingguang", "regular", "2026-11-04 10:00", chair="pcs-xg")
    b.item("M1", 1, c10, "2026-11-04 11:00")
    b.item("M1", 2, None, "2026-11-04 11:30", "每月一题：垃圾分类")
    b.item("M1", 3, None, None)
    b.meeting("M2", "donghu", "adhoc", "2026-11-09 10:00")
    b.item("M2", 1, c9, "2026-11-09 11:00")
    b.meeting("M3", "xingguang", "regular", "2026-12-20 10:00", status="scheduled")
    b.meeting("M4", "xingguang", "regular", "2026-10-20 10:00", status="cancelled")
    b.meeting("M5", "donghu", "adhoc", "2026-12-28 15:00")
    b.item("M5", 1, c5, "2026-12-28 16:00")

    # Two-way evaluation: units scoring their community for the year.
    b.evaluations += [
        {"period": "2026", "rater": "unit:pcs-xg", "ratee": "community:xingguang", "score": 5.0,
         "comment": "配合顺畅", "created_at": t("2026-12-15 10:00")},
        {"period": "2026", "rater": "unit:eco-bureau", "ratee": "community:xingguang", "score": 4.0,
         "comment": "会议通知可以更早", "created_at": t("2026-12-16 10:00")},
        {"period": "2026", "rater": "unit:hospital", "ratee": "community:donghu", "score": 3.0,
         "comment": "有事请联系13800001111", "created_at": t("2026-12-17 10:00")},
    ]
    b.write(wh)


@pytest.fixture
def warehouse(tmp_path: Path):
    with open_warehouse(tmp_path / "report.duckdb") as wh:
        build_fixture(wh)
        yield wh


@pytest.fixture
def kpis(warehouse) -> QuarterlyKpis:
    return compute_kpis(warehouse, CALENDAR, Q4, None, OPTIONS)


def pick(row: dict, *names: str) -> dict:
    return {n: row[n] for n in names}


COUNTS = ("received", "assigned", "responses", "responded_in_time", "resolved", "deadlines", "on_time",
          "verdicts", "verified", "reopened", "answered", "rated", "satisfied", "no_response",
          "open_at_end", "overdue_at_end", "declined", "expired", "escalated", "support_assigned")


def test_overall_counts_of_the_quarter(kpis):
    assert pick(kpis.overall(), *COUNTS) == {
        "received": 9,            # C2 C3 C4 C5 C6 C7 C9 C10 C11; C1 came in Q3
        "assigned": 8,            # C2, C3 (claim), C4 twice (re-routed), C5, C9, C10, C11
        "responses": 7, "responded_in_time": 4,   # C3 C4/2 C9 C10 in time; C2 late, C4/1 declined, C5 never;
                                                  # C11 closed before its window did: no outcome
        "resolved": 5,            # C1 C2 C4 C9 C10 (C2 twice, counted once)
        "deadlines": 7, "on_time": 5,             # C1, C2 twice, C4 (extended), C9 met; C3, C10 missed;
                                                  # C11 closed as a duplicate: no outcome
        "verdicts": 5, "verified": 4, "reopened": 1,
        "answered": 5, "rated": 4, "satisfied": 3, "no_response": 1,
        "open_at_end": 3, "overdue_at_end": 1,    # C3 C5 C6 open; C3 overdue
        "declined": 1, "expired": 1, "escalated": 1, "support_assigned": 1,
    }


def test_overall_rates_and_working_day_spans(kpis):
    row = kpis.overall()
    assert row["response_rate"] == pytest.approx(4 / 7)
    assert row["on_time_rate"] == pytest.approx(5 / 7)
    assert row["resolution_rate"] == pytest.approx(4 / 5)
    assert row["satisfaction_rate"] == pytest.approx(3 / 5)   # the unrated answer counts; no response does not
    # To accept: C2 2, C3 2 (from the claim-list offer), C4 0, C9 0, C10 1.
    assert (row["accept_days_median"], row["accept_days_p90"]) == (1.0, pytest.approx(2.0))
    # To resolve, per handling round: C1 6, C2 8 and 5, C4 13, C9 1, C10 14.
    assert (row["resolve_days_median"], row["resolve_days_p90"]) == (7.0, pytest.approx(13.5))
    assert row["days_unknown"] == 0


def test_case_received_in_q3_resolved_in_q4_counts_in_each_quarter_once(kpis):
    q3 = kpis.overall("2026-Q3")
    assert pick(q3, "received", "assigned", "responses", "responded_in_time", "resolved", "deadlines", "on_time",
                "verdicts", "verified", "answered", "satisfied", "open_at_end", "overdue_at_end") == {
        "received": 2, "assigned": 2, "responses": 2, "responded_in_time": 2, "resolved": 1, "deadlines": 1,
        "on_time": 1, "verdicts": 1, "verified": 1, "answered": 1, "satisfied": 1,
        "open_at_end": 1, "overdue_at_end": 0,   # C1 was open on 30 Sep, due only 16 Oct
    }
    assert q3["accept_days_median"] == 0.5   # C8 0, C1 1
    assert kpis.quarters == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert [r["received"] for r in kpis.trend()] == [0, 0, 0, 2, 9]


def test_a_past_quarter_recomputes_to_what_its_report_showed(warehouse, kpis):
    q3_alone = compute_kpis(warehouse, CALENDAR, Quarter(2026, 3), None, OPTIONS)
    assert q3_alone.overall() == kpis.overall("2026-Q3")


def test_the_trend_shows_previous_quarters_as_published(warehouse, kpis):
    assert kpis.computed == kpis.quarters and kpis.published == {}  # nothing published yet: all derived
    assert publish_quarters(warehouse, kpis, datetime(2027, 1, 1)) == 5
    # A correction to Q3's history after it was reported: the trend keeps the published figures
    # and only the report's own quarter is derived from the events again.
    warehouse.execute("DELETE FROM case_events WHERE case_id = 'LD-2026-000008' AND kind = 'verified'")
    again = compute_kpis(warehouse, CALENDAR, Q4, None, OPTIONS)
    assert again.computed == ["2026-Q4"] and again.overall("2026-Q3") == kpis.overall("2026-Q3")
    assert again.overall() == kpis.overall()
    # Other settings mean other figures: nothing published under them, all derived again.
    other = compute_kpis(warehouse, CALENDAR, Q4, None, ReportSettings(extensions_move_deadline=False))
    assert other.computed == other.quarters and other.overall("2026-Q3")["verdicts"] == 0


def test_options_where_practice_differs(warehouse):
    strict = compute_kpis(warehouse, CALENDAR, Q4, None, ReportSettings(
        extensions_move_deadline=False, basically_satisfied_counts=False, satisfaction_base="rated"))
    row = strict.overall()
    assert (row["deadlines"], row["on_time"]) == (7, 4)   # C4 late against its first deadline, 17 Nov
    assert (row["satisfied"], row["rated"], row["satisfaction_rate"]) == (2, 4, 0.5)


def test_by_community_grid_category_and_source(kpis):
    by = {d: {r["key"]: r for r in kpis.rows(d)} for d in ("community", "grid", "category", "source")}
    assert {k: (r["received"], r["resolved"], r["open_at_end"]) for k, r in by["community"].items()} == {
        "donghu": (3, 1, 2), "xingguang": (6, 4, 1)}
    assert {k: r["received"] for k, r in by["grid"].items()} == {"dh-01": 3, "xg-01": 3, "xg-02": 3}
    assert {k: r["on_time"] for k, r in by["category"].items()} == {
        "elderly_care": 1, "noise": 2, "roads": 0, "sanitation": 2}
    assert {k: r["received"] for k, r in by["source"].items()} == {"grid": 2, "hotline": 6, "open311": 1}


def test_unit_scorecard_and_red_yellow_list_with_a_minimum_case_count(kpis):
    cards = {r["key"]: r for r in kpis.scorecard}
    pcs, eco = cards["pcs-xg"], cards["eco-bureau"]
    assert pick(pcs, "cases", "assigned", "responses", "responded_in_time", "declined", "resolved") == {
        "cases": 3, "assigned": 2, "responses": 1, "responded_in_time": 0, "declined": 1, "resolved": 1}
    assert pcs["score"] == pytest.approx(75.0)   # response 0, on time 1, verified 1, satisfied 1
    assert pick(eco, "cases", "responses", "responded_in_time", "deadlines", "on_time", "expired",
                "support_assigned", "no_response", "open_at_end") == {
        "cases": 3, "responses": 3, "responded_in_time": 2, "deadlines": 2, "on_time": 1, "expired": 1,
        "support_assigned": 1, "no_response": 1, "open_at_end": 1}
    assert eco["score"] == pytest.approx(100 * (2 / 3 + 1 / 2 + 1 + 0) / 4)
    assert cards["hospital"]["escalated"] == 1 and cards["hospital"]["overdue_at_end"] == 1
    # ACME's one perfect case is not enough to be ranked, let alone top the list.
    assert cards["acme"]["score"] == pytest.approx(100.0) and cards["acme"]["rank"] is None
    assert [(r["key"], r["rank"], r["list"]) for r in kpis.scorecard if r["rank"]] == [
        ("pcs-xg", 1, "red"), ("eco-bureau", 2, "yellow")]
    assert [r["key"] for r in kpis.red_list()] == ["pcs-xg"]
    assert [r["key"] for r in kpis.yellow_list()] == ["eco-bureau"]


def test_each_community_scores_its_own_units(kpis):
    assert {c: [(r["key"], r["cases"]) for r in rows] for c, rows in kpis.community_scorecards.items()} == {
        "donghu": [("acme", 1), ("eco-bureau", 1), ("hospital", 1)],   # none reaches the minimum of 2
        "xingguang": [("pcs-xg", 3), ("eco-bureau", 2), ("urban-mgmt", 1)],
    }


def test_meetings_decisions_and_their_follow_up(kpis):
    by = {r["community_id"]: r for r in kpis.meetings}
    names = ("meetings_held", "regular_meetings", "adhoc_meetings", "items_decided", "case_decisions",
             "carried_out_on_time", "carried_out_late", "decisions_pending")
    assert pick(by[None], *names) == dict(zip(names, (3, 1, 2, 4, 3, 1, 1, 1)))
    assert pick(by["xingguang"], *names) == dict(zip(names, (1, 1, 0, 2, 1, 0, 1, 0)))
    assert pick(by["donghu"], *names) == dict(zip(names, (2, 0, 2, 2, 2, 1, 0, 1)))
    assert by["xingguang"]["chaired_by"] == ["pcs-xg"]


def test_notable_cases_are_masked(kpis):
    assert [(r["case_id"], r["overdue"], r["reopened"], r["late"]) for r in kpis.notable] == [
        ("LD-2026-000003", True, False, True), ("LD-2026-000002", False, True, False),
        ("LD-2026-000010", False, False, True)]
    c3 = kpis.notable[0]
    assert c3["overdue_days"] == 45 and c3["escalated"] and c3["unit_id"] == "hospital"
    assert c3["title"] == "独居老人王**家无人照料，电话139****4321"
    assert "reporter_name" not in c3 and "reporter_phone" not in c3


def test_community_scope_and_evaluations(warehouse):
    kpis = compute_kpis(warehouse, CALENDAR, Q4, "xingguang", OPTIONS)
    assert kpis.overall()["received"] == 6
    assert [r["community_id"] for r in kpis.meetings] == [None, "xingguang"]
    assert [(e["rater"], e["score"]) for e in kpis.evaluations] == [("unit:eco-bureau", 4.0), ("unit:pcs-xg", 5.0)]


def test_working_day_table_counts_like_the_calendar():
    table = workday_table(CALENDAR).to_pylist()
    n = {r["day"]: r["n"] for r in table}
    for a, b in [(date(2026, 9, 28), date(2026, 10, 12)), (date(2026, 10, 29), date(2026, 12, 31)),
                 (date(2026, 10, 9), date(2026, 10, 10))]:
        assert n[b] - n[a] == CALENDAR.workdays_between(a, b)
    assert min(n) == date(2025, 1, 1) and max(n) == date(2027, 12, 31)


def test_spans_outside_the_calendar_are_reported_not_guessed(warehouse):
    narrow = FixedWorkCalendar(years=range(2026, 2027))
    assert compute_kpis(warehouse, narrow, Q4, None, OPTIONS).overall()["days_unknown"] == 0
    warehouse.execute("UPDATE case_events SET occurred_at = occurred_at - INTERVAL 1 YEAR "
                      "WHERE case_id = 'LD-2026-000001' AND kind = 'assigned'")
    row = compute_kpis(warehouse, narrow, Q4, None, OPTIONS).overall()
    assert row["days_unknown"] == 1   # C1's handling round now starts in 2025, which it does not cover
