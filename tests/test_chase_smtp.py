"""The chasing stage night by night against a real SMTP server (aiosmtpd on loopback): exactly
which emails go out on which day across National Day 2026, a night run twice sends nothing new,
an extension restarts the ladder, expiry re-routes, digests group, and an uncovered year is loud."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from liandong.resources import Resources
from liandong.roster import Roster
from liandong.settings import MailSettings, Settings, load_settings
from tasks.chase.chasing import chase_ladder
from tasks.chase.expiry import expire_unaccepted
from tasks.chase.extension import ExtensionRefused, ExtensionRequest, grant_extension, grant_extensions
from tasks.mail.outbox import deliver_due, queue_drafts
from tasks.routing.assign import route_triaged_cases
from tasks.routing.notices import assignment_notices
from tests.support.mail import parts
from tests.support.smtp_server import Received, RunningServer, smtp_server
from warehouse.store import Warehouse

SHANGHAI = ZoneInfo("Asia/Shanghai")
COORDINATOR = "li.secretary@xingguang.example.cn"
SUPERVISOR = "qian.supervisor@street.example.cn"
POLICE = "wang@pcs.example.cn"
URBAN = ("liu@urban.example.cn", "zhou@urban.example.cn")


def at(day: date, hour: int = 2) -> datetime:
    return datetime.combine(day, time(hour), SHANGHAI)


def add_case(wh: Warehouse, n: int, category: str, received: date, community: str = "xingguang",
             status: str = "triaged", **fields) -> str:
    case_id = f"LD-{received.year}-{n:06d}"
    moment = at(received, 10).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    wh.append("cases", [{"case_id": case_id, "source": "t", "source_ref": case_id, "received_at": moment,
                         "title": f"{category} 问题 {n}", "description": "居民反映，请联系 13812345678",
                         "category": category, "urgency": "normal", "community_id": community,
                         "address": "星光路1号", "reporter_name": "王大妈", "reporter_phone": "13812345678",
                         "status": status, "created_at": moment, "updated_at": moment, **fields}])
    return case_id


def accept_leads(wh: Warehouse) -> None:
    """What the replies flow does when the lead units reply 接收."""
    wh.execute("UPDATE assignments SET state = 'accepted' WHERE state = 'notified'")
    wh.execute("UPDATE cases SET status = 'in_progress' WHERE status = 'assigned'")


def mail(received: Received) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    m = received.message()
    addresses = lambda h: tuple(sorted(a.addr_spec for a in m[h].addresses)) if m[h] else ()  # noqa: E731
    return addresses("To"), addresses("Cc"), m["Subject"]


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def resources(liandong_home, server: RunningServer) -> Resources:
    mail_settings = MailSettings(transport="smtp", smtp_host=server.host, smtp_port=server.port,
                                 smtp_connections=2, smtp_timeout_seconds=5)
    return Resources(load_settings(mail=mail_settings))


class Nights:
    """Runs the chasing stage at 02:00 of a day (twice, like a rerun) and delivers to the server."""

    def __init__(self, resources: Resources, server: RunningServer):
        self.resources, self.server = resources, server
        self.seen = 0

    def new_mail(self) -> list[Received]:
        received = self.server.handler.messages()
        new, self.seen = received[self.seen:], len(received)
        return new

    def run(self, day: date, times: int = 2) -> list[Received]:
        r = self.resources
        for _ in range(times):
            with r.warehouse() as wh:
                expire_unaccepted(wh, r.roster, r.calendar, r.composer, at(day), f"night {day}")
                result = chase_ladder(wh, r.roster, r.calendar, r.composer, at(day), f"night {day}")
                assert deliver_due(wh, r.mail_transport(), at(day)).failed_temporary == 0
            assert not result.problems
        return self.new_mail()

    def run_until(self, last: date, first: date) -> dict[date, list]:
        out, day = {}, first
        while day <= last:
            sent = self.run(day)
            if sent:
                out[day] = sorted(mail(m) for m in sent)  # by recipient
            day += timedelta(days=1)
        return out


@pytest.fixture
def nights(resources: Resources, server: RunningServer) -> Nights:
    return Nights(resources, server)


def route_and_accept(resources: Resources, nights: Nights, day: date) -> None:
    """The assignment stage on `day`, its notices delivered, then the leads accept."""
    r = resources
    with r.warehouse() as wh:
        route_triaged_cases(wh, r.roster, r.calendar, at(day, 10), "assign")
        queue_drafts(wh, r.composer, assignment_notices(wh, r.roster), at(day, 10))
        deliver_due(wh, r.mail_transport(), at(day, 10))
        accept_leads(wh)
    nights.new_mail()


def test_the_ladder_over_national_day_2026_one_email_per_rung_and_reruns_send_nothing(resources, nights):
    with resources.warehouse() as wh:
        a = add_case(wh, 1, "noise", date(2026, 9, 22))       # lead: police station
        b = add_case(wh, 2, "sanitation", date(2026, 9, 22))  # lead: urban management (two contacts)
    route_and_accept(resources, nights, date(2026, 9, 22))    # both due Tue 13 Oct (10 working days)
    with resources.warehouse() as wh:
        c = add_case(wh, 3, "noise", date(2026, 9, 29))
    route_and_accept(resources, nights, date(2026, 9, 29))    # due Mon 19 Oct

    sent = nights.run_until(date(2026, 10, 16), first=date(2026, 9, 23))
    assert sent == {
        date(2026, 10, 10): [  # Saturday, a make-up working day: two working days left
            (URBAN, (), f"[{b}] 办理时限提醒：即将到期 1 项"),
            ((POLICE,), (), f"[{a}] 办理时限提醒：即将到期 1 项"),
        ],
        date(2026, 10, 13): [
            (URBAN, (), f"[{b}] 办理时限提醒：今日到期 1 项"),
            ((POLICE,), (), f"[{a}] 办理时限提醒：今日到期 1 项"),
        ],
        date(2026, 10, 14): [
            (URBAN, (COORDINATOR,), f"[{b}] 办理时限提醒：逾期 1 项"),
            ((POLICE,), (COORDINATOR,), f"[{a}] 办理时限提醒：逾期 1 项"),
        ],
        date(2026, 10, 15): [((POLICE,), (), f"[{c}] 办理时限提醒：即将到期 1 项")],
        # The third working day after the deadline: the rotating chair (the police station holds the
        # chair from October) and the supervisor, one email for the community's two cases.
        date(2026, 10, 16): [((SUPERVISOR, POLICE), (COORDINATOR,), "督办：星光社区 2 项诉求逾期未办结")],
    }
    with resources.warehouse() as wh:
        flagged = [r[0] for r in wh.execute("SELECT case_id FROM cases WHERE escalated_at IS NOT NULL ORDER BY 1").fetchall()]
        kinds = wh.rows("SELECT kind, count(*) AS n FROM case_events WHERE kind IN ('overdue', 'escalated') GROUP BY 1 ORDER BY 1")
    assert flagged == [a, b]
    assert kinds == [{"kind": "escalated", "n": 2}, {"kind": "overdue", "n": 2}]

    # The coordinator extends B by 5 working days on Friday afternoon: the unit is told at once and
    # B's ladder starts again on the new deadline (Fri 23 Oct); the escalation flag is cleared.
    with resources.warehouse() as wh:
        granted = grant_extensions(wh, resources.roster, resources.calendar, resources.composer,
                                   [ExtensionRequest(case_id=b, working_days=5, reason="需协调环卫车辆",
                                                     approved_by=COORDINATOR)], at(date(2026, 10, 16), 15), "ui")
        deliver_due(wh, resources.mail_transport(), at(date(2026, 10, 16), 15))
        assert wh.scalar("SELECT escalated_at FROM cases WHERE case_id = ?", [b]) is None
    assert [g.to_due for g in granted.granted] == [datetime(2026, 10, 23, 15, 59, 59)]
    notice = nights.new_mail()
    assert [mail(m) for m in notice] == [(URBAN, (), f"[{b}] 延期已批准：sanitation 问题 2")]
    assert "办理期限由 2026年10月13日 23:59 调整为 2026年10月23日 23:59" in parts(notice[0].message())[0]

    assert nights.run_until(date(2026, 10, 28), first=date(2026, 10, 17)) == {
        date(2026, 10, 19): [((POLICE,), (), f"[{c}] 办理时限提醒：今日到期 1 项")],
        date(2026, 10, 20): [((POLICE,), (COORDINATOR,), f"[{c}] 办理时限提醒：逾期 1 项")],
        date(2026, 10, 21): [(URBAN, (), f"[{b}] 办理时限提醒：即将到期 1 项")],
        date(2026, 10, 22): [((SUPERVISOR, POLICE), (COORDINATOR,), f"[{c}] 督办：星光社区 1 项诉求逾期未办结")],
        date(2026, 10, 23): [(URBAN, (), f"[{b}] 办理时限提醒：今日到期 1 项")],
        date(2026, 10, 26): [(URBAN, (COORDINATOR,), f"[{b}] 办理时限提醒：逾期 1 项")],
        date(2026, 10, 28): [((SUPERVISOR, POLICE), (COORDINATOR,), f"[{b}] 督办：星光社区 1 项诉求逾期未办结")],
    }


def test_a_contact_with_twelve_items_gets_one_digest_or_twelve_emails_per_case(resources, nights, server):
    due_day = date(2026, 11, 20)
    with resources.warehouse() as wh:
        for n in range(1, 13):
            add_case(wh, n, "noise", date(2026, 11, 2))
    route_and_accept(resources, nights, date(2026, 11, 6))  # 10 working days: Fri 20 Nov
    sent = nights.run(due_day)
    assert [mail(m) for m in sent] == [((POLICE,), (), "办理时限提醒：今日到期 12 项")]
    text, html = parts(sent[0].message())
    assert all(f"LD-2026-{n:06d}" in text for n in range(1, 13))
    assert html.count("mailto:") == 24  # progress and done for each case, the case number in the body
    assert "13812345678" not in text and "王大妈" not in text

    per_case = resources.roster.model_copy(update={"policy": resources.roster.policy.model_copy(
        update={"chase_mail": "per_case"})})
    with resources.warehouse() as wh:
        chase_ladder(wh, per_case, resources.calendar, resources.composer, at(due_day + timedelta(days=3)), "n")
        deliver_due(wh, resources.mail_transport(), at(due_day + timedelta(days=3)))
    overdue = nights.new_mail()
    assert len(overdue) == 12
    assert {mail(m)[:2] for m in overdue} == {((POLICE,), (COORDINATOR,))}
    assert sorted(mail(m)[2] for m in overdue)[0] == "[LD-2026-000001] 已逾期：noise 问题 1（1 个工作日）"


def test_an_unaccepted_assignment_expires_and_goes_to_the_next_candidate(resources, nights):
    with resources.warehouse() as wh:
        case = add_case(wh, 1, "noise", date(2026, 11, 19))
        route_triaged_cases(wh, resources.roster, resources.calendar, at(date(2026, 11, 19), 10), "assign")
    # The notices of assignments not yet in the outbox go out with the chasing stage too; accept by
    # the end of Fri 20 Nov: still open.
    assert sorted(mail(m) for m in nights.run(date(2026, 11, 20))) == [
        (("chen@eco.example.cn",), (), f"[{case}] 新诉求协办：noise 问题 1"),
        ((POLICE,), (), f"[{case}] 新诉求交办（牵头）：noise 问题 1")]
    sent = nights.run(date(2026, 11, 21))
    with resources.warehouse() as wh:
        states = wh.rows("SELECT assignment_id, unit_id, role, state FROM assignments ORDER BY 1")
        expired = wh.rows("SELECT assignment_id, reason FROM case_events WHERE kind = 'expired' ORDER BY 1")
    assert [mail(m) for m in sent] == [(("chen@eco.example.cn",), (), f"[{case}] 新诉求交办（牵头）：noise 问题 1")]
    assert states == [
        {"assignment_id": f"{case}/1", "unit_id": "pcs-xg", "role": "lead", "state": "expired"},
        {"assignment_id": f"{case}/2", "unit_id": "eco-bureau", "role": "support", "state": "expired"},
        {"assignment_id": f"{case}/3", "unit_id": "eco-bureau", "role": "lead", "state": "notified"},
    ]
    assert [e["assignment_id"] for e in expired] == [f"{case}/1", f"{case}/2"]


def test_extensions_are_the_coordinators_and_applied_once(resources):
    r = resources
    with r.warehouse() as wh:
        case = add_case(wh, 1, "noise", date(2026, 11, 2))
        route_triaged_cases(wh, r.roster, r.calendar, at(date(2026, 11, 2), 10), "assign")  # due 16 Nov
        accept_leads(wh)

        def grant(**kw):
            args = {"case_id": case, "working_days": 3, "reason": "等待配件", "approved_by": COORDINATOR, **kw}
            return grant_extension(wh, r.roster, r.calendar, as_of=at(date(2026, 11, 10)), run_id="ui", **args)

        first = grant()
        again = grant(approved_by=" LI.Secretary@xingguang.example.cn ")
        with pytest.raises(ExtensionRefused, match="only the coordinator of the case's community"):
            grant(approved_by="wang.secretary@donghu.example.cn")
        with pytest.raises(ExtensionRefused, match="at most 15 working days"):
            grant(working_days=20, reason="太久")
        with pytest.raises(ExtensionRefused, match="no such case"):
            grant(case_id="LD-2026-999999")
        with pytest.raises(ExtensionRefused, match="invalid request"):
            grant(working_days=0)
        due = wh.rows("SELECT a.due_at AS a, c.due_at AS c FROM assignments a JOIN cases c USING (case_id) "
                      "WHERE a.role = 'lead'")[0]
        events = wh.rows("SELECT actor, reason FROM case_events WHERE kind = 'extension_granted'")
    assert (first.from_due, first.to_due, first.already) == (datetime(2026, 11, 16, 15, 59, 59),
                                                             datetime(2026, 11, 19, 15, 59, 59), False)
    assert again.already and again.to_due == first.to_due
    assert due == {"a": first.to_due, "c": first.to_due}
    assert events == [{"actor": f"coordinator:{COORDINATOR}", "reason": "等待配件"}]


def test_a_year_the_calendar_does_not_know_is_reported_loudly_and_the_night_goes_on(resources, nights):
    r = resources
    next_year = max(r.calendar.covered_years()) + 1
    last_day = date(next_year - 1, 12, 31)
    with r.warehouse() as wh:
        known = add_case(wh, 1, "noise", date(next_year - 1, 12, 1))
        unknown = add_case(wh, 2, "noise", date(next_year - 1, 12, 1))
        route_triaged_cases(wh, r.roster, r.calendar, at(date(next_year - 1, 12, 16), 10), "assign")  # due 30 Dec
        accept_leads(wh)
        # A deadline set when an overrides file covered next year, since removed.
        wh.execute("UPDATE assignments SET due_at = ? WHERE case_id = ?", [datetime(next_year, 1, 6, 15, 59), unknown])
        result = chase_ladder(wh, r.roster, r.calendar, r.composer, at(last_day), "night")
        deliver_due(wh, r.mail_transport(), at(last_day))
        with pytest.raises(ExtensionRefused) as refused:
            grant_extension(wh, r.roster, r.calendar, known, 3, "节后处理", COORDINATOR, at(last_day), "ui")
    (problem,) = result.problems
    assert f"1 件案件的催办期限无法计算（{unknown}）" in problem and f"{next_year}年的节假日安排尚未收录" in problem
    assert f"The deadline reminders of 1 cases cannot be computed ({unknown})" in problem
    assert "chinesecalendar" in problem and "calendar_overrides.yaml" in problem
    assert [mail(m)[2] for m in nights.new_mail()] == [f"[{known}] 办理时限提醒：逾期 1 项"]  # the other case went on
    assert f"Holidays for {next_year} are not known" in str(refused.value)


def test_the_english_contacts_digest_is_in_english(resources, nights):
    r = resources
    roster: Roster = r.roster
    with r.warehouse() as wh:
        case = add_case(wh, 1, "elderly_care", date(2026, 11, 2), community="donghu", status="in_progress",
                        lead_unit_id="acme")
        wh.append("assignments", [{"assignment_id": f"{case}/1", "case_id": case, "unit_id": "acme", "role": "lead",
                                   "state": "accepted", "candidate_rank": 0, "due_at": datetime(2026, 11, 18, 15, 59, 59),
                                   "created_at": datetime(2026, 11, 2), "updated_at": datetime(2026, 11, 2)}])
    sent = nights.run(date(2026, 11, 19))
    assert [mail(m) for m in sent] == [(("alice@acme.example.com",), ("wang.secretary@donghu.example.cn",),
                                        f"[{case}] Deadlines: 1 overdue")]
    text, _ = parts(sent[0].message())
    assert "overdue by 1 working day, deadline 2026-11-18 23:59 (Beijing time)" in text
    assert "Elderly care" in text and roster.unit("acme").name in text
