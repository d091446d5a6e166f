"""Reply ingestion end to end through the Maildir transport: cases routed and notified through the
real pipeline (routing, queue_drafts, the Maildir outbox), so tokens and Message-IDs are
genuine; the replies are the client fixtures (tests/fixtures/replies) re-addressed to them.

`World` and `deliver_scenario` are shared with tests/test_replies_imap.py, which runs the same
scenario through a real Dovecot.
"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.utils import parseaddr
from pathlib import Path

import pytest

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.mail.outbox import deliver_due, queue_drafts
from tasks.mail.tokens import make_reply_token, reply_address
from tasks.mail.transport import MaildirTransport
from tasks.replies import reader
from tasks.replies.inbound import PROCESSED, InboundTransport, MaildirInbox
from tasks.replies.ingest import IngestResult, ingest_replies
from tasks.roster.sync import sync_roster
from tasks.routing.assign import route_triaged_cases
from tasks.routing.notices import assignment_notices, claim_list_digests

FIXTURES = Path(__file__).parent / "fixtures" / "replies"
# In the past: Dovecot stores an APPEND dated in the future as arriving now.
NOTIFIED = datetime.fromisoformat("2026-11-16T09:00:00+08:00")  # a Monday
REPLIED = datetime.fromisoformat("2026-11-16T15:00:00+08:00")
LATER = datetime.fromisoformat("2026-11-17T15:00:00+08:00")
GRID_WORKER = "zhang.grid@xingguang.example.cn"

# Which fixture answers which case, and what it says. Cases are made in this order.
ANSWERS: list[tuple[str, str, str]] = [  # (fixture, category, intent)
    ("01_qq_html_only_accept.eml", "noise", "accept"),
    ("02_qq_en_plain_decline.eml", "noise", "decline"),
    ("04_foxmail_decline_no_reason.eml", "noise", "decline"),
    ("12_gmail_en_accept.eml", "sanitation", "accept"),
    ("14_apple_mail_zh_accept.eml", "sanitation", "accept"),
    ("15_iphone_decline.eml", "roads", "decline"),
    ("27_broken_mime_wrong_boundary.eml", "sanitation", "accept"),
    ("29_gmail_empty_reply_quote_only.eml", "sanitation", "unknown"),
    ("03_qq_new_card_done.eml", "noise", "done"),
    ("06_netease126_en_done_attachment.eml", "sanitation", "done"),
    ("07_mailmaster_done.eml", "sanitation", "done"),
    ("08_outlook_zh_plain_8bit.eml", "public_order", "done"),
    ("16_huawei_phone_done.eml", "public_order", "done"),
    ("28_wrong_charset_damaged_base64.eml", "sanitation", "done"),
    ("05_netease163_progress.eml", "noise", "progress"),
    ("11_owa_progress_with_suppress.eml", "sanitation", "progress"),
    ("17_thunderbird_zh_bottom_post_flowed.eml", "sanitation", "progress"),
    ("18_roundcube_en_progress.eml", "public_order", "progress"),
    ("09_outlook_zh_html_only.eml", "sanitation", "decline"),
    ("10_outlook_en_plain_decline.eml", "sanitation", "decline"),
]
AUTOMATIC = ["22_auto_reply_qq.eml", "23_outlook_out_of_office.eml", "24_autoresponder_headers_only.eml",
             "30_auto_reply_raw_gbk_subject.eml"]
CLAIMS = 5  # elderly_care cases on the hospital's claim list; fixture 13 claims items 2 and 5


@dataclass(frozen=True)
class Sent:
    message_id: str
    reply_to: str
    case_id: str | None
    assignment_id: str | None
    unit_id: str | None
    contact: str  # the first recipient


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def readdress(raw: bytes, headers: dict[str, str | None]) -> bytes:
    """The message with these header fields replaced (None: removed); the body byte for byte."""
    end = re.search(rb"\r?\n\r?\n", raw)
    head, body = raw[: end.start()], raw[end.start():]
    newline = b"\r\n" if b"\r\n" in head else b"\n"
    wanted = {name.lower() for name in headers}
    kept, dropping = [], False
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = line.split(b":", 1)[0].strip().decode("ascii", "replace").lower() in wanted
        if not dropping:
            kept.append(line)
    added = [f"{name}: {value}".encode() for name, value in headers.items() if value is not None]
    return newline.join(added + kept) + body


class World:
    """A warehouse with cases routed and notified through the real pipeline."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.resources = Resources(settings)
        self.count = 0

    def add_cases(self, category: str, n: int = 1) -> list[str]:
        ids = []
        with self.resources.warehouse() as wh:
            for _ in range(n):
                self.count += 1
                case_id = f"LD-2026-{self.count:06d}"
                wh.append("cases", [{
                    "case_id": case_id, "source": "t", "source_ref": case_id, "received_at": datetime(2026, 11, 15),
                    "title": f"{category} 问题 {self.count}", "description": "居民反映，请联系 13812345678",
                    "category": category, "urgency": "normal", "community_id": "xingguang", "grid_id": "xg-01",
                    "address": "星光路1号", "reporter_name": "王大妈", "reporter_phone": "13812345678",
                    "status": "triaged", "created_at": datetime(2026, 11, 15), "updated_at": datetime(2026, 11, 15)}])
                ids.append(case_id)
        return ids

    def notify(self, as_of: datetime = NOTIFIED) -> None:
        """Route every triaged case, queue the notices and claim lists, send them to the outbox."""
        r = self.resources
        with r.warehouse() as wh:
            sync_roster(wh, r.roster)
            route_triaged_cases(wh, r.roster, r.calendar, as_of, "route")
            queue_drafts(wh, r.composer, assignment_notices(wh, r.roster) + claim_list_digests(wh, r.roster), as_of)
            deliver_due(wh, MaildirTransport(self.settings.outbox_folder), as_of)

    def notice(self, case_id: str, role: str = "lead") -> Sent:
        return self._sent("SELECT m.* FROM messages m JOIN assignments a USING (assignment_id) "
                          "WHERE a.case_id = ? AND a.role = ? ORDER BY a.assignment_id LIMIT 1", [case_id, role])

    def claim_list(self, unit_id: str) -> Sent:
        return self._sent("SELECT * FROM messages WHERE purpose = 'claim_list' AND unit_id = ?", [unit_id])

    def _sent(self, sql: str, params: list) -> Sent:
        with self.resources.warehouse() as wh:
            row = wh.rows(sql, params)[0]
        reply_to = parseaddr(message_from_bytes(row["raw"])["Reply-To"])[1]
        return Sent(row["message_id"], reply_to, row["case_id"], row["assignment_id"], row["unit_id"],
                    row["to_addrs"].split(",")[0].strip())

    def reply(self, name: str, sent: Sent, sender: str | None = None, **headers: str) -> bytes:
        """Fixture `name` as `sender` (default: the notice's recipient) would send it in answer to `sent`."""
        return readdress(fixture(name), {
            "From": f"<{sender or sent.contact}>", "To": f"<{sent.reply_to}>", "Cc": None,
            "In-Reply-To": f"<{sent.message_id}>", "References": f"<{sent.message_id}>",
            **{name.replace("_", "-"): value for name, value in headers.items()}})

    def lookback_address(self, case_id: str) -> str:
        mail = self.settings.mail
        return reply_address(make_reply_token(mail.reply_secret, purpose="lookback", case_id=case_id),
                             mail.reply_domain)

    def ask_lookback(self, case_id: str, contact: str = GRID_WORKER) -> None:
        """What the look-back stage does when a look-back falls due: ask the grid worker."""
        with self.resources.warehouse() as wh:
            wh.execute("UPDATE lookbacks SET state = 'asked', contact_email = ?, asked_at = ? WHERE case_id = ?",
                       [contact, datetime(2026, 12, 16, 1, 0), case_id])

    def rows(self, sql: str, params: list | None = None) -> list[dict]:
        with self.resources.warehouse() as wh:
            return wh.rows(sql, params)

    def scalar(self, sql: str, params: list | None = None):
        with self.resources.warehouse() as wh:
            return wh.scalar(sql, params)


def ingest(world: World, transport: InboundTransport, as_of: datetime = REPLIED, **options) -> IngestResult:
    with world.resources.warehouse() as wh:
        return ingest_replies(wh, world.resources, transport, as_of, "test-run", **options)


@dataclass
class Scenario:
    cases: dict[str, str]  # fixture → case
    claimed: list[str]
    not_claimed: list[str]
    forged: str  # the case whose reply carried a tampered token
    bounced: Sent


Put = Callable[[bytes], None]


def deliver_scenario(world: World, put: Put) -> Scenario:
    """Build the cases, notify them, then put every reply of the first run into the mailbox."""
    cases = {name: world.add_cases(category)[0] for name, category, _ in ANSWERS}
    claim_cases = world.add_cases("elderly_care", CLAIMS)
    world.notify()
    for name, _, _ in ANSWERS:
        put(world.reply(name, world.notice(cases[name])))
    claim_list = world.claim_list("hospital")
    put(world.reply("13_gmail_zh_claim.eml", claim_list))
    for name in AUTOMATIC:
        put(world.reply(name, world.notice(cases["01_qq_html_only_accept.eml"])))
    bounced = world.notice(cases["04_foxmail_decline_no_reason.eml"])
    put(fixture("25_dsn_postfix_bounce.eml")
        .replace(b"ld-2026-0118.a.gezj2@notify.liandong.example.cn", bounced.message_id.encode())
        .replace(b"nobody@cgj.example.gov.cn", bounced.contact.encode()))
    put(fixture("26_coremail_bounce_returned_message.eml")
        .replace(b"ld-2026-0120.a.cgezm@notify.liandong.example.cn", claim_list.message_id.encode()))
    _deliver_refused(world, cases, put)
    return Scenario(cases, [claim_cases[1], claim_cases[4]], [claim_cases[0], claim_cases[2], claim_cases[3]],
                    cases["12_gmail_en_accept.eml"], bounced)


def _deliver_refused(world: World, cases: dict[str, str], put: Put) -> None:
    """Replies that must not be acted on: forged token, wrong sender, unknown sender, a duplicate."""
    sent = world.notice(cases["12_gmail_en_accept.eml"])
    local, domain = sent.reply_to.split("@")
    tampered = local[:-3] + ("a" if local[-3] != "a" else "b") + local[-2:]
    put(world.reply("12_gmail_en_accept.eml", sent, To=f"<{tampered}@{domain}>", In_Reply_To=None,
                    References=None, Message_ID="<forged-1@attacker.example>"))
    support = world.notice(cases["01_qq_html_only_accept.eml"], role="support")
    put(world.reply("14_apple_mail_zh_accept.eml", world.notice(cases["05_netease163_progress.eml"]),
                    sender=support.contact, Message_ID="<wrong-sender-1@eco.example.cn>"))
    put(world.reply("12_gmail_en_accept.eml", world.notice(cases["29_gmail_empty_reply_quote_only.eml"]),
                    sender="stranger@qq.example.com", Message_ID="<stranger-1@qq.example.com>"))
    put(world.reply("01_qq_html_only_accept.eml", world.notice(cases["01_qq_html_only_accept.eml"])))  # again


def check_first_run(world: World, scenario: Scenario, result: IngestResult) -> None:
    """The warehouse and the attention list after the scenario's replies were ingested once."""
    cases = scenario.cases
    assert result.transport_error is None
    assert result.duplicates == 1
    assert result.auto_replies == len(AUTOMATIC) and result.bounces == 2
    assert result.claimed == 2 and result.asked_again == 1

    lead = {r["case_id"]: r for r in world.rows(
        "SELECT case_id, state, decline_reason, done_at, status FROM assignments JOIN cases USING (case_id) "
        "WHERE role = 'lead' AND candidate_rank = 0")}
    for name, _, intent in ANSWERS:
        row = lead[cases[name]]
        expected = {"accept": ("accepted", "in_progress"), "done": ("done_reported", "resolved"),
                    "progress": ("notified", "assigned"), "unknown": ("notified", "assigned")}.get(intent)
        if intent == "decline":
            if name == "04_foxmail_decline_no_reason.eml":
                assert (row["state"], row["status"]) == ("notified", "assigned")
            else:
                assert row["state"] == "declined" and row["decline_reason"], name
        else:
            assert (row["state"], row["status"]) == expected, name
        if intent == "done":
            assert row["done_at"] == datetime(2026, 11, 16, 7, 0), name

    # A declined noise case goes to the next candidate; a declined roads case has none left.
    rerouted = world.rows("SELECT unit_id, state FROM assignments WHERE case_id = ? AND candidate_rank = 1",
                          [cases["02_qq_en_plain_decline.eml"]])
    assert rerouted == [{"unit_id": "eco-bureau", "state": "notified"}]
    assert world.scalar("SELECT status FROM cases WHERE case_id = ?", [cases["15_iphone_decline.eml"]]) == "needs_meeting"
    assert world.scalar("SELECT count(*) FROM messages WHERE idempotency_key = ?",
                        [f"assignment:{cases['02_qq_en_plain_decline.eml']}/3"]) == 1

    reason = world.scalar("SELECT decline_reason FROM assignments WHERE case_id = ? AND role = 'lead' "
                          "AND candidate_rank = 0", [cases["10_outlook_en_plain_decline.eml"]])
    assert reason == "not our remit. The lane belongs to the District Transport Bureau"

    # Progress notes are events on the case, with the note and the reply they came from.
    note = world.rows("SELECT reason, actor, inbound_id FROM case_events WHERE kind = 'progress_reported' "
                      "AND case_id = ?", [cases["05_netease163_progress.eml"]])[0]
    assert note["reason"] == "已联系施工单位，预计11月25日前清运完毕" and note["actor"].startswith("unit:")
    assert note["inbound_id"]

    # Done: a look-back scheduled lookback_calendar_days (30) after the report.
    lookback = world.rows("SELECT due_at, state FROM lookbacks WHERE case_id = ?", [cases["03_qq_new_card_done.eml"]])
    assert lookback == [{"due_at": datetime(2026, 12, 16, 7, 0), "state": "scheduled"}]

    # The photo of the fix, under a generated name.
    (photo,) = world.rows("SELECT * FROM inbound_attachments")
    assert photo["case_id"] == cases["06_netease126_en_done_attachment.eml"] and photo["content_type"] == "image/jpeg"
    stored = Path(photo["stored_path"])
    assert stored.is_file() and stored.suffix == ".jpg" and stored.parent.name == photo["case_id"]
    assert stored.is_relative_to(world.settings.attachments_folder) and stored.stat().st_size == photo["size"]

    # Claims: items 2 and 5 of the claim list, the rest still open.
    status = {r["case_id"]: r["status"] for r in world.rows(
        "SELECT case_id, status FROM cases WHERE category = 'elderly_care'")}
    assert {c: status[c] for c in scenario.claimed} == {c: "in_progress" for c in scenario.claimed}
    assert {status[c] for c in scenario.not_claimed} == {"claim_listed"}
    assert world.scalar("SELECT count(*) FROM case_events WHERE kind = 'claimed' AND inbound_id IS NOT NULL") == 2

    # The decline without a reason is answered with a request for one, to the sender only.
    (ask,) = world.rows("SELECT to_addrs, case_id, purpose FROM messages WHERE idempotency_key LIKE 'ask-reason:%'")
    assert ask == {"to_addrs": "wang@pcs.example.cn", "case_id": cases["04_foxmail_decline_no_reason.eml"],
                   "purpose": "assignment"}

    # The bounced notice failed for good; the claim list's bounce names a recipient no roster has.
    assert world.scalar("SELECT state FROM messages WHERE message_id = ?", [scenario.bounced.message_id]) == \
        "failed_permanent"

    attention = world.rows("SELECT kind, case_id, ref, reason FROM attention_items ORDER BY attention_id")
    kinds = sorted(a["kind"] for a in attention)
    assert kinds == sorted(["reply_unknown_intent", "reply_forged_token", "reply_wrong_sender", "reply_unknown_sender",
                            "contact_suspect", "contact_suspect"]), attention
    suspect = next(a for a in attention if a["kind"] == "contact_suspect" and a["ref"] == scenario.bounced.contact)
    assert suspect["case_id"] == cases["04_foxmail_decline_no_reason.eml"]
    assert all("13812345678" not in a["reason"] for a in attention)
    assert sorted(i["kind"] for i in result.attention_items) == kinds

    outcomes = {r["outcome"]: r["n"] for r in world.rows(
        "SELECT outcome, count(*) AS n FROM inbound_messages GROUP BY outcome")}
    total = len(ANSWERS) + 1 + len(AUTOMATIC) + 2 + 3
    assert sum(outcomes.values()) == total == result.read - result.duplicates
    assert (result.applied, result.ignored, result.attention) == (outcomes["applied"], outcomes["ignored"],
                                                                  outcomes["attention"])
    assert all(Path(r["raw_path"]).is_file() for r in world.rows("SELECT raw_path FROM inbound_messages"))


def deliver_second_run(world: World, scenario: Scenario, put: Put) -> None:
    """The next day: a late accept, two look-back answers, and a decline with its reason at last."""
    cases = scenario.cases
    declined = world.notice(cases["02_qq_en_plain_decline.eml"])
    put(world.reply("12_gmail_en_accept.eml", declined, Message_ID="<late-accept-1@pcs.example.cn>"))
    for name, case in (("19_qq_ios_lookback_fixed.eml", cases["03_qq_new_card_done.eml"]),
                       ("20_legacy_oa_gbk_no_charset_lookback.eml", cases["06_netease126_en_done_attachment.eml"])):
        world.ask_lookback(case)
        put(readdress(fixture(name), {"From": f"<{GRID_WORKER}>", "To": f"<{world.lookback_address(case)}>",
                                      "In-Reply-To": None, "References": None}))
    asked = world.notice(cases["04_foxmail_decline_no_reason.eml"])
    put(world.reply("15_iphone_decline.eml", asked, Message_ID="<reason-at-last@pcs.example.cn>"))


def check_second_run(world: World, scenario: Scenario, result: IngestResult) -> None:
    cases = scenario.cases
    assert (result.read, result.applied, result.attention) == (4, 3, 1)
    late = world.rows("SELECT kind, reason FROM attention_items WHERE kind = 'reply_late'")
    assert len(late) == 1 and "declined" in late[0]["reason"]
    answers = {r["case_id"]: r for r in world.rows(
        "SELECT case_id, state, fixed, satisfaction, answer_inbound_id FROM lookbacks")}
    fixed = answers[cases["03_qq_new_card_done.eml"]]
    assert (fixed["state"], fixed["fixed"], fixed["satisfaction"]) == ("answered", True, "basically_satisfied")
    not_fixed = answers[cases["06_netease126_en_done_attachment.eml"]]
    assert (not_fixed["state"], not_fixed["fixed"], not_fixed["satisfaction"]) == ("answered", False, "dissatisfied")
    assert world.scalar("SELECT decline_reason FROM assignments WHERE case_id = ? AND candidate_rank = 0",
                        [cases["04_foxmail_decline_no_reason.eml"]]) == "该事项属于街道城建科"


# ---------------------------------------------------------------------------------------- maildir


@pytest.fixture
def world(settings: Settings) -> World:
    return World(settings)


def maildir_put(folder: Path) -> Put:
    box = mailbox.Maildir(folder, factory=None, create=True)
    return box.add


@pytest.mark.parametrize("workers", [1, 2])
def test_the_scenario_through_the_maildir_transport(world: World, workers: int, monkeypatch):
    monkeypatch.setattr(reader, "PARALLEL_MIN", 1)  # every batch through the worker processes, when there are two
    inbox = world.settings.inbox_folder
    scenario = deliver_scenario(world, maildir_put(inbox))

    first = ingest(world, MaildirInbox(inbox), batch_size=7, workers=workers)

    check_first_run(world, scenario, first)
    assert not list((inbox / "new").iterdir())
    assert len(list((inbox / PROCESSED / "cur").iterdir())) == first.read

    deliver_second_run(world, scenario, maildir_put(inbox))
    check_second_run(world, scenario, ingest(world, MaildirInbox(inbox), LATER))


def test_processing_the_same_messages_again_changes_nothing(world: World):
    inbox = world.settings.inbox_folder
    deliver_scenario(world, maildir_put(inbox))
    ingest(world, MaildirInbox(inbox))
    tables = ("inbound_messages", "case_events", "assignments", "lookbacks", "attention_items", "messages",
              "inbound_attachments")
    before = {t: world.rows(f"SELECT * FROM {t} ORDER BY ALL") for t in tables}

    # A rerun after a crash between the commit and the move: every message is in the inbox again.
    for path in (inbox / PROCESSED / "cur").iterdir():
        path.rename(inbox / "new" / path.name.split(":2,")[0])
    again = ingest(world, MaildirInbox(inbox), LATER)

    assert again.duplicates == again.read > 0 and again.applied == again.attention == 0
    assert {t: world.rows(f"SELECT * FROM {t} ORDER BY ALL") for t in tables} == before
    assert not list((inbox / "new").iterdir())
