"""Look-back (回头看) night by night against a real SMTP server: fixed (verified, then closed),
not fixed (reopened, the lead unit told with its new deadline, chased again), and no answer
(one reminder, then `no_response`) across Spring Festival 2026 and its make-up Saturdays."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest

from liandong.resources import Resources
from liandong.settings import MailSettings, load_settings
from tasks.chase.chasing import chase_ladder
from tasks.lookback.checks import apply_answers, ask_and_remind
from tasks.mail.outbox import deliver_due
from tasks.replies.reading import read_intent
from tests.support.mail import parts
from tests.support.smtp_server import Received, RunningServer, smtp_server
from warehouse.store import Warehouse

SHANGHAI, UTC = ZoneInfo("Asia/Shanghai"), ZoneInfo("UTC")
GRID_WORKER = "zhang.grid@xingguang.example.cn"
POLICE = "wang@pcs.example.cn"


def at(day: date, hour: int = 2) -> datetime:
    return datetime.combine(day, time(hour), SHANGHAI)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def resolved_case(wh: Warehouse, n: int, resolved: datetime, community: str = "xingguang",
                  grid: str | None = "xg-01") -> str:
    """A case the lead unit reported done, with the look-back the replies flow schedules (30 days)."""
    case_id, when = f"LD-2026-{n:06d}", utc(resolved)
    wh.append("cases", [{"case_id": case_id, "source": "t", "source_ref": case_id, "received_at": when - timedelta(days=9),
                         "title": f"夜间噪音 {n}", "description": "KTV 夜间噪音，反映人电话 13812345678",
                         "category": "noise", "urgency": "normal", "community_id": community, "grid_id": grid,
                         "address": "星光路8号", "reporter_name": "王大妈", "reporter_phone": "13812345678",
                         "status": "resolved", "lead_unit_id": "pcs-xg", "created_at": when, "updated_at": when}])
    wh.append("assignments", [{"assignment_id": f"{case_id}/1", "case_id": case_id, "unit_id": "pcs-xg", "role": "lead",
                               "state": "done_reported", "candidate_rank": 0, "due_at": when, "done_at": when,
                               "created_at": when, "updated_at": when}])
    wh.append("case_events", [{"case_id": case_id, "occurred_at": when, "actor": "unit:pcs-xg", "kind": "done",
                               "from_status": "in_progress", "to_status": "resolved", "reason": "已加装隔音门"}])
    wh.append("lookbacks", [{"lookback_id": f"{case_id}/lookback/1", "case_id": case_id, "state": "scheduled",
                             "due_at": when + timedelta(days=30), "created_at": when, "updated_at": when}])
    return case_id


def answer(wh: Warehouse, case_id: str, fixed: bool, satisfaction: str, when: datetime, note: str | None = None) -> None:
    """What the replies flow records from the grid worker's reply."""
    wh.execute("UPDATE lookbacks SET state = 'answered', fixed = ?, satisfaction = ?, answered_at = ?, answer_note = ? "
               "WHERE case_id = ?", [fixed, satisfaction, utc(when), note, case_id])


def mail(received: Received) -> tuple[tuple[str, ...], str]:
    m = received.message()
    return tuple(sorted(a.addr_spec for a in m["To"].addresses)), m["Subject"]


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def resources(liandong_home, server: RunningServer) -> Resources:
    return Resources(load_settings(mail=MailSettings(transport="smtp", smtp_host=server.host, smtp_port=server.port,
                                                     smtp_connections=2, smtp_timeout_seconds=5)))


class Nights:
    def __init__(self, resources: Resources, server: RunningServer):
        self.resources, self.server, self.seen = resources, server, 0
        self.results: list = []

    def new_mail(self) -> list[Received]:
        received = self.server.handler.messages()
        new, self.seen = received[self.seen:], len(received)
        return new

    def run(self, day: date, times: int = 2) -> list[Received]:
        """The look-back stage at 02:00 (twice, like a rerun), delivered to the server."""
        r = self.resources
        for _ in range(times):
            with r.warehouse() as wh:
                answers = apply_answers(wh, r.roster, r.calendar, r.composer, at(day), f"night {day}")
                questions = ask_and_remind(wh, r.roster, r.calendar, r.composer, at(day), f"night {day}")
                deliver_due(wh, r.mail_transport(), at(day))
            assert not answers.problems and not questions.problems
            self.results.append((day, answers, questions))
        return self.new_mail()

    def run_until(self, last: date, first: date) -> dict[date, list]:
        out, day = {}, first
        while day <= last:
            if sent := self.run(day):
                out[day] = [mail(m) for m in sent]
            day += timedelta(days=1)
        return out


@pytest.fixture
def nights(resources: Resources, server: RunningServer) -> Nights:
    return Nights(resources, server)


def buttons(html: str) -> list[str]:
    """The reply each mailto button prefills."""
    return [unquote(href.split("body=", 1)[1]) for href in re.findall(r'href="(mailto:[^"]+)"', html)]


def test_fixed_the_case_is_verified_then_closed(resources, nights):
    with resources.warehouse() as wh:
        case = resolved_case(wh, 1, at(date(2026, 10, 20), 10))  # look-back due Thu 19 Nov, 10:00
    assert nights.run_until(date(2026, 11, 20), first=date(2026, 11, 18)) == {
        date(2026, 11, 20): [((GRID_WORKER,), f"[{case}] 回头看：夜间噪音 1——问题是否已解决？")]}
    (question,) = [m for m in nights.server.handler.messages()]
    text, html = parts(question.message())
    assert "星光派出所于 2026年10月20日 报告以下诉求已办结" in text and "在星光第一网格巡查时" in text
    assert "13812345678" not in text + html  # the grid worker sees the site, not the reporter
    # Each button prefills a reply the replies flow reads as meant (its own reader, not a copy).
    readings = [(i.kind, i.satisfaction) for i in (read_intent(b, "lookback") for b in buttons(html))]
    assert readings == [("fixed", "satisfied"), ("fixed", "basically_satisfied"), ("fixed", "dissatisfied"),
                        ("not_fixed", None)]

    with resources.warehouse() as wh:
        answer(wh, case, True, "basically_satisfied", at(date(2026, 11, 21), 9))
    assert nights.run(date(2026, 11, 22)) == []  # no email: the answer is acted on, on a Sunday too
    with resources.warehouse() as wh:
        status = wh.scalar("SELECT status FROM cases")
        events = wh.rows("SELECT kind, from_status, to_status, detail->>'satisfaction' AS satisfaction "
                         "FROM case_events WHERE run_id LIKE 'night%' ORDER BY event_id")
        applied = wh.scalar("SELECT applied_at FROM lookbacks")
    assert status == "closed" and applied is not None
    assert events == [
        {"kind": "lookback_asked", "from_status": None, "to_status": None, "satisfaction": None},
        {"kind": "verified", "from_status": "resolved", "to_status": "verified", "satisfaction": "basically_satisfied"},
        {"kind": "closed", "from_status": "verified", "to_status": "closed", "satisfaction": "basically_satisfied"},
    ]
    assert sum(a.verified for _, a, _ in nights.results) == 1


def test_not_fixed_reopens_the_case_tells_the_lead_unit_and_chases_the_new_deadline(resources, nights):
    with resources.warehouse() as wh:
        case = resolved_case(wh, 1, at(date(2026, 10, 20), 10))
    nights.run_until(date(2026, 11, 20), first=date(2026, 11, 20))
    nights.new_mail()
    with resources.warehouse() as wh:
        answer(wh, case, False, "dissatisfied", at(date(2026, 11, 21), 9), note="晚上十点后仍有唱歌声")
    sent = nights.run(date(2026, 11, 22))  # Sunday: 10 working days from Monday 23 Nov
    assert [mail(m) for m in sent] == [((POLICE,), f"[{case}] 诉求重办：夜间噪音 1（回头看发现问题未解决）")]
    text, _ = parts(sent[0].message())
    assert "回头看时张网格反映问题仍未解决，居民满意度：不满意" in text and "现场情况：晚上十点后仍有唱歌声" in text
    assert "请于 2026年12月4日 23:59 前办结" in text
    assert "13812345678" in text and "王大妈" in text  # the lead unit may call the resident back
    with resources.warehouse() as wh:
        case_row = wh.rows("SELECT status, lead_unit_id, due_at FROM cases")[0]
        lead = wh.rows("SELECT assignment_id, unit_id, state, due_at FROM assignments ORDER BY assignment_id")
        reopened = wh.rows("SELECT from_status, to_status, assignment_id FROM case_events WHERE kind = 'reopened'")
    new_due = datetime(2026, 12, 4, 15, 59, 59)
    assert case_row == {"status": "reopened", "lead_unit_id": "pcs-xg", "due_at": new_due}
    assert lead[1] == {"assignment_id": f"{case}/2", "unit_id": "pcs-xg", "state": "accepted", "due_at": new_due}
    assert reopened == [{"from_status": "resolved", "to_status": "reopened", "assignment_id": f"{case}/2"}]

    # The reopened case is on the chasing ladder like any other: reminder two working days before.
    r = resources
    with r.warehouse() as wh:
        chase_ladder(wh, r.roster, r.calendar, r.composer, at(date(2026, 12, 2)), "night")
        deliver_due(wh, r.mail_transport(), at(date(2026, 12, 2)))
    assert [mail(m) for m in nights.new_mail()] == [((POLICE,), f"[{case}] 办理时限提醒：即将到期 1 项")]


def test_no_answer_one_reminder_then_no_response_across_spring_festival(resources, nights):
    with resources.warehouse() as wh:
        # 东湖 grid dh-01 has no grid worker: its coordinator (English) is asked. Due Sat 14 Feb, a worked day.
        case = resolved_case(wh, 1, at(date(2026, 1, 15), 1), community="donghu", grid="dh-01")
    coordinator = ("wang.secretary@donghu.example.cn",)
    sent = nights.run_until(date(2026, 3, 3), first=date(2026, 2, 13))
    assert sent == {
        date(2026, 2, 14): [(coordinator, f'[{case}] Look-back: is "夜间噪音 1" fixed?')],
        # Three working days later: 24, 25, 26 Feb (the holiday runs 15–23 Feb).
        date(2026, 2, 26): [(coordinator, f'[{case}] Look-back, second request: is "夜间噪音 1" fixed?')],
    }
    no_response = [day for day, _, q in nights.results if q.no_response]
    assert no_response == [date(2026, 3, 2)]  # 27 Feb, Sat 28 Feb (worked), Mon 2 Mar
    with resources.warehouse() as wh:
        lookback = wh.rows("SELECT state, fixed, satisfaction, contact_email FROM lookbacks")[0]
        status = wh.scalar("SELECT status FROM cases")
        attention = wh.rows("SELECT kind, case_id FROM attention_items")
        kinds = [r[0] for r in wh.execute("SELECT kind FROM case_events WHERE run_id LIKE 'night%' "
                                          "ORDER BY event_id").fetchall()]
    assert lookback == {"state": "no_response", "fixed": None, "satisfaction": None,
                        "contact_email": "wang.secretary@donghu.example.cn"}
    assert status == "resolved"  # neither verified nor reopened, and never counted as satisfied
    assert attention == [{"kind": "lookback_no_response", "case_id": case}]
    assert kinds == ["lookback_asked", "lookback_reminded", "lookback_no_response"]
    reminder_text, _ = parts(nights.server.handler.messages()[1].message())
    assert "On 2026-02-14 we asked you" in reminder_text and "within 3 working days" in reminder_text


def test_an_answer_arriving_between_the_reminder_and_the_cutoff_still_counts(resources, nights):
    with resources.warehouse() as wh:
        case = resolved_case(wh, 1, at(date(2026, 1, 15), 1), community="donghu", grid="dh-01")
    nights.run_until(date(2026, 2, 26), first=date(2026, 2, 14))
    with resources.warehouse() as wh:
        answer(wh, case, True, "satisfied", at(date(2026, 2, 27), 9))
    nights.run_until(date(2026, 3, 6), first=date(2026, 2, 28))
    with resources.warehouse() as wh:
        assert wh.rows("SELECT state, fixed FROM lookbacks") == [{"state": "answered", "fixed": True}]
        assert wh.scalar("SELECT status FROM cases") == "closed"
