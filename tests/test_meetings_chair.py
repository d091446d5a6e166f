"""The rotating chair (轮值主席): terms in the roster's order across term boundaries, and the
term report on the agenda of a term's last regular meeting."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from liandong.clock import SHANGHAI
from liandong.roster import Community, Person
from tasks.meetings.agenda import closes_chair_term, load_agenda
from tasks.meetings.chair import ChairSettingsInvalid, ChairTerm, chair_term
from tasks.meetings.convene import convene
from tasks.meetings.render import MeetingDocuments
from tasks.meetings.schedule import next_regular_start, period_of, regular_start
from tests.test_meetings_agenda import AS_OF, MEETINGS, Scene, resources  # noqa: F401 (fixture)

ORDER = ["pcs-xg", "eco-bureau", "urban-mgmt"]


def community(cadence: str = "monthly", **chair) -> Community:
    return Community(id="xingguang", name="星光社区", coordinator=Person(name="李书记", email="li@x.example.cn"),
                     meeting_cadence=cadence, chair_order=ORDER, **{"chair_start": "2026-10-01", **chair})


@pytest.mark.parametrize(("day", "unit", "starts", "ends"), [
    (date(2026, 10, 1), "pcs-xg", date(2026, 10, 1), date(2027, 1, 1)),
    (date(2026, 12, 31), "pcs-xg", date(2026, 10, 1), date(2027, 1, 1)),
    (date(2027, 1, 1), "eco-bureau", date(2027, 1, 1), date(2027, 4, 1)),
    (date(2027, 6, 30), "urban-mgmt", date(2027, 4, 1), date(2027, 7, 1)),
    (date(2027, 7, 1), "pcs-xg", date(2027, 7, 1), date(2027, 10, 1)),  # round again
])
def test_chair_terms_follow_the_order_across_boundaries(day, unit, starts, ends):
    assert chair_term(community(), day) == ChairTerm(unit, starts, ends)


def test_terms_of_other_lengths_and_month_ends():
    assert chair_term(community(chair_term_months=1), date(2026, 11, 30)).unit_id == "eco-bureau"
    # A rotation starting on the 31st: after a shorter month the next term starts on the 1st.
    month_end = community(chair_term_months=1, chair_start="2026-01-31")
    assert chair_term(month_end, date(2026, 2, 28)) == ChairTerm("pcs-xg", date(2026, 1, 31), date(2026, 3, 1))
    assert chair_term(month_end, date(2026, 3, 1)) == ChairTerm("eco-bureau", date(2026, 3, 1), date(2026, 3, 31))
    assert chair_term(community(), date(2026, 9, 30)) is None  # the rotation has not begun
    no_rotation = Community(id="x", name="x", coordinator=Person(name="a", email="a@b.cn"))
    assert chair_term(no_rotation, date(2026, 10, 1)) is None
    with pytest.raises(ChairSettingsInvalid, match="chair_start"):
        chair_term(community(chair_start="十月一日"), date(2026, 10, 1))


def test_regular_meetings_fall_late_in_the_period_and_the_last_of_a_term_hears_the_report(resources):  # noqa: F811
    calendar = resources.calendar
    # The 3rd-last working day: November 2026 ends Mon 30th, so Thursday 26th.
    assert regular_start(calendar, MEETINGS, period_of("monthly", date(2026, 11, 5))) == \
        datetime(2026, 11, 26, 14, 30, tzinfo=SHANGHAI)
    assert period_of("quarterly", date(2026, 11, 5)).label == "2026-q4"
    monthly = community()
    assert not closes_chair_term(monthly, datetime(2026, 11, 26, 14, 30, tzinfo=SHANGHAI))
    december = next_regular_start(calendar, MEETINGS, monthly, datetime(2026, 12, 1, tzinfo=SHANGHAI))
    assert december.date() == date(2026, 12, 29)
    assert closes_chair_term(monthly, december)
    # Quarterly meetings with quarter-long terms: every meeting closes a term.
    assert closes_chair_term(community("quarterly"), datetime(2026, 11, 26, 14, 30, tzinfo=SHANGHAI))
    assert not closes_chair_term(community("quarterly", chair_term_months=6), december)


def test_the_terms_last_agenda_carries_the_report_from_the_warehouse(resources):  # noqa: F811
    december = datetime(2026, 12, 29, 14, 30, tzinfo=SHANGHAI)
    with resources.warehouse() as wh:
        scene = Scene(wh)
        open_case = scene.declined_by_all()
        closed = scene.case(status="resolved", lead="pcs-xg")
        scene.assignment(closed, "pcs-xg")
        scene.event(closed, "done_reported", 3, unit="pcs-xg", to_status="resolved")
        before_term = scene.case(status="resolved", lead="pcs-xg", days_ago=80)
        scene.assignment(before_term, "pcs-xg", days_ago=79)
        scene.event(before_term, "done_reported", 60, unit="pcs-xg", to_status="resolved")
        scene.case(status="rejected", category=None)  # never reached the committee
        convened = convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "regular", december,
                           AS_OF)
        agenda = load_agenda(wh, resources.roster, convened.meeting_id, AS_OF)
    assert [i.kind for i in agenda.items] == ["needs_meeting", "term_report"]
    report = agenda.term_report
    assert (report.chair.id, report.starts, report.last_day) == ("pcs-xg", date(2026, 10, 1), date(2026, 12, 31))
    assert (report.tracked, report.closed, report.still_open, report.open_case_ids) == (2, 1, 1, [open_case])
    text = MeetingDocuments().agenda(agenda, "zh-CN").text
    assert "2. 【轮值主席述职】星光派出所（任期 2026年10月1日—2026年12月31日）" in text
    assert "本任期跟踪案件 2 件，办结 1 件，仍在办理 1 件" in text
