"""The rules of reply ingestion one at a time, through the Maildir transport: each way of matching a
reply, answers that come too late or twice, support units, claims, look-backs, bounces."""

from __future__ import annotations

import mailbox
from dataclasses import replace
from datetime import datetime

import pytest

from liandong.settings import Settings, load_settings
from tasks.mail.tokens import make_reply_token, reply_address
from tasks.replies.inbound import ImapInbox, MaildirInbox, _fetched, _grouped, _uid_set, inbound_from_settings
from tasks.replies.ingest import IngestResult
from tests.test_replies_ingest import LATER, REPLIED, Sent, World, fixture, ingest, readdress


@pytest.fixture
def world(settings: Settings) -> World:
    return World(settings)


def deliver(world: World, *messages: bytes, as_of: datetime = REPLIED, batch_size: int = 200) -> IngestResult:
    box = mailbox.Maildir(world.settings.inbox_folder, factory=None, create=True)
    for raw in messages:
        box.add(raw)
    return ingest(world, MaildirInbox(world.settings.inbox_folder), as_of, batch_size=batch_size)


def plain(sent: Sent, text: str, *, sender: str | None = None, message_id: str, to: str | None = None,
          subject: str = "Re: 通知", in_reply_to: str | None = None) -> bytes:
    """A minimal plain-text reply as a phone client writes it."""
    headers = [f"From: <{sender or sent.contact}>", f"To: <{to or sent.reply_to}>", f"Subject: {subject}",
               f"Message-ID: <{message_id}>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
               "Content-Transfer-Encoding: 8bit"]
    if in_reply_to:
        headers.append(f"In-Reply-To: <{in_reply_to}>")
    return ("\r\n".join(headers) + "\r\n\r\n" + text + "\r\n").encode()


def inbound(world: World, message_id: str) -> dict:
    return world.rows("SELECT * FROM inbound_messages WHERE message_id = ?", [message_id])[0]


def lead_state(world: World, case_id: str) -> tuple[str, str]:
    row = world.rows("SELECT a.state, c.status FROM assignments a JOIN cases c USING (case_id) "
                     "WHERE a.case_id = ? AND a.role = 'lead' ORDER BY a.assignment_id LIMIT 1", [case_id])[0]
    return row["state"], row["status"]


def test_in_reply_to_matches_when_the_reply_address_lost_its_token(world: World):
    (case,) = world.add_cases("sanitation")
    world.notify()
    sent = world.notice(case)
    deliver(world, plain(sent, "接收", message_id="irt@x.cn", to="liandong@community.example.cn",
                         in_reply_to=sent.message_id))
    assert inbound(world, "irt@x.cn")["matched_by"] == "in_reply_to"
    assert lead_state(world, case) == ("accepted", "in_progress")


def test_the_subject_tag_matches_the_senders_own_assignment(world: World):
    (case,) = world.add_cases("sanitation")
    world.notify()
    sent = world.notice(case)
    deliver(world, plain(sent, "办结：已清运", message_id="tag@x.cn", to="liandong@community.example.cn",
                         subject=f"回复：[{case}] 新诉求交办"))
    row = inbound(world, "tag@x.cn")
    assert (row["matched_by"], row["assignment_id"], row["outcome"]) == ("subject_tag", f"{case}/1", "applied")
    assert lead_state(world, case) == ("done_reported", "resolved")


def test_a_reply_to_a_message_about_several_cases_must_name_one(world: World):
    first, second = world.add_cases("sanitation", 2)
    world.notify()
    mail = world.settings.mail
    digest = reply_address(make_reply_token(mail.reply_secret, purpose="reminder", unit_id="urban-mgmt"),
                           mail.reply_domain)
    sent = Sent("digest@x.cn", digest, None, None, "urban-mgmt", "liu@urban.example.cn")
    result = deliver(world, plain(sent, f"{second} 办结：已清运完毕", message_id="named@x.cn"),
                     plain(sent, "办结", message_id="unnamed@x.cn"))
    assert inbound(world, "named@x.cn")["matched_by"] == "case_number"
    assert lead_state(world, second) == ("done_reported", "resolved")
    assert lead_state(world, first) == ("notified", "assigned")
    assert [i["kind"] for i in result.attention_items] == ["reply_unmatched"]


def test_an_answer_given_twice_is_applied_once(world: World):
    (case,) = world.add_cases("sanitation")
    world.notify()
    sent = world.notice(case)
    result = deliver(world, plain(sent, "接收", message_id="a1@x.cn"), plain(sent, "好的，接收", message_id="a2@x.cn"))
    assert (result.applied, result.ignored, result.attention) == (1, 1, 0)
    assert "already accepted" in inbound(world, "a2@x.cn")["reason"]
    assert world.scalar("SELECT count(*) FROM case_events WHERE kind = 'accepted'") == 1


def test_a_duplicate_delivery_in_the_same_batch_counts_once(world: World):
    (case,) = world.add_cases("sanitation")
    world.notify()
    reply = plain(world.notice(case), "接收", message_id="dup@x.cn")
    result = deliver(world, reply, reply)
    assert (result.read, result.duplicates, result.applied) == (2, 1, 1)


def test_a_reply_after_the_case_was_closed_is_shown_not_applied(world: World):
    (case,) = world.add_cases("sanitation")
    world.notify()
    with world.resources.warehouse() as wh:
        wh.execute("UPDATE cases SET status = 'closed' WHERE case_id = ?", [case])
        wh.execute("UPDATE assignments SET state = 'accepted' WHERE case_id = ?", [case])
    result = deliver(world, plain(world.notice(case), "办结 已处理", message_id="late@x.cn"))
    assert result.attention == 1 and result.attention_items[0]["kind"] == "reply_late"
    assert lead_state(world, case) == ("accepted", "closed")
    assert world.scalar("SELECT count(*) FROM lookbacks") == 0


def test_a_support_unit_accepts_and_reports_done_without_moving_the_case(world: World):
    (case,) = world.add_cases("sanitation")
    world.notify()
    support = world.notice(case, role="support")
    deliver(world, plain(support, "接收", message_id="s1@x.cn"))
    deliver(world, plain(support, "办结：已检测", message_id="s2@x.cn"), as_of=LATER)
    state = world.scalar("SELECT state FROM assignments WHERE case_id = ? AND role = 'support'", [case])
    assert state == "done_reported" and lead_state(world, case) == ("notified", "assigned")
    assert world.scalar("SELECT count(*) FROM lookbacks") == 0


def test_a_claim_by_case_number_wins_once_and_a_claim_on_something_not_offered_is_refused(world: World):
    first, second = world.add_cases("elderly_care", 2)
    (ordinary,) = world.add_cases("sanitation")
    world.notify()
    listed = world.claim_list("hospital")
    deliver(world, plain(listed, f"认领 {first}", message_id="c1@x.cn"),
            plain(listed, f"认领 {first}", message_id="c2@x.cn"),
            plain(listed, f"认领 {ordinary}", message_id="c3@x.cn"))
    assert (inbound(world, "c1@x.cn")["outcome"], inbound(world, "c2@x.cn")["outcome"]) == ("applied", "ignored")
    refused = inbound(world, "c3@x.cn")
    assert refused["outcome"] == "attention" and "not_offered" in refused["reason"]
    assert world.rows("SELECT status, lead_unit_id FROM cases WHERE case_id = ?", [first]) == [
        {"status": "in_progress", "lead_unit_id": "hospital"}]
    assert world.scalar("SELECT status FROM cases WHERE case_id = ?", [second]) == "claim_listed"


def test_a_look_back_answer_from_someone_other_than_the_person_asked_is_not_recorded(world: World):
    (case,) = world.add_cases("sanitation")
    world.notify()
    deliver(world, plain(world.notice(case), "办结", message_id="d@x.cn"))
    world.ask_lookback(case)
    asked = Sent("q@x.cn", world.lookback_address(case), case, None, None, "zhang.grid@xingguang.example.cn")
    result = deliver(world, plain(asked, "已解决，满意", message_id="lb1@x.cn", sender="liu@urban.example.cn"),
                     plain(asked, "未解决，不满意，仍有积水", message_id="lb2@x.cn"), as_of=LATER)
    assert [i["kind"] for i in result.attention_items] == ["reply_unknown_sender"]
    assert world.rows("SELECT state, fixed, satisfaction, answer_note FROM lookbacks") == [
        {"state": "answered", "fixed": False, "satisfaction": "dissatisfied", "answer_note": "仍有积水"}]


def test_a_delayed_delivery_report_is_not_a_failure(world: World):
    (case,) = world.add_cases("sanitation")
    world.notify()
    sent = world.notice(case)
    delayed = (fixture("25_dsn_postfix_bounce.eml")
               .replace(b"ld-2026-0118.a.gezj2@notify.liandong.example.cn", sent.message_id.encode())
               .replace(b"Action: failed", b"Action: delayed").replace(b"Status: 5.1.1", b"Status: 4.4.1"))
    result = deliver(world, delayed)
    assert (result.bounces, result.ignored, result.attention) == (1, 1, 0)
    assert world.scalar("SELECT state FROM messages WHERE message_id = ?", [sent.message_id]) == "sent"


def test_unknown_answers_reach_the_coordinator_without_phone_numbers(world: World):
    (case,) = world.add_cases("sanitation")
    world.notify()
    result = deliver(world, plain(world.notice(case), "这个事情请联系居民 138 1234 5678 再说\r\n谢谢", message_id="u@x.cn"))
    (item,) = result.attention_items
    assert item["kind"] == "reply_unknown_intent" and "138****5678" in item["reason"]
    assert "1234 5678" not in item["reason"]


def test_the_ask_again_email_is_in_the_senders_language(world: World):
    (case,) = world.add_cases("elderly_care")
    with world.resources.warehouse() as wh:
        wh.execute("UPDATE cases SET community_id = 'donghu', grid_id = 'dh-01' WHERE case_id = ?", [case])
    world.notify()
    listed = world.claim_list("acme")
    deliver(world, plain(listed, f"claim {case}", message_id="claim@acme.example.com"))
    assignment = world.rows("SELECT assignment_id FROM assignments WHERE case_id = ?", [case])[0]["assignment_id"]
    sent = replace(listed, reply_to=reply_address(make_reply_token(
        world.settings.mail.reply_secret, purpose="assignment", case_id=case, assignment_id=assignment,
        unit_id="acme"), world.settings.mail.reply_domain))
    with world.resources.warehouse() as wh:
        wh.execute("UPDATE assignments SET state = 'notified' WHERE assignment_id = ?", [assignment])
    deliver(world, plain(sent, "Decline", message_id="no-reason@acme.example.com"), as_of=LATER)
    (subject,) = [r["subject"] for r in world.rows("SELECT subject FROM messages WHERE idempotency_key LIKE 'ask-reason:%'")]
    assert subject.startswith(f"[{case}] Please give the reason for declining")


def test_the_transport_comes_from_the_settings(settings: Settings, monkeypatch):
    assert isinstance(inbound_from_settings(settings), MaildirInbox)
    monkeypatch.setenv("LIANDONG_IMAP__ENABLED", "true")
    monkeypatch.setenv("LIANDONG_IMAP__PASSWORD", "s3cret-value")
    transport = inbound_from_settings(load_settings())
    assert isinstance(transport, ImapInbox) and transport.security == "tls" and transport.port == 993
    assert "s3cret-value" not in repr(transport)


def test_a_missing_inbox_folder_is_an_empty_inbox(world: World):
    result = ingest(world, MaildirInbox(world.settings.home / "no-such-inbox"))
    assert (result.read, result.transport_error) == (0, None)


def test_messages_already_marked_seen_in_cur_are_read_too(world: World):
    (case,) = world.add_cases("sanitation")
    world.notify()
    inbox = world.settings.inbox_folder
    for sub in ("new", "cur", "tmp"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    (inbox / "cur" / "1763700000.M1P1.host:2,S").write_bytes(plain(world.notice(case), "接收", message_id="cur@x.cn"))
    result = ingest(world, MaildirInbox(inbox))
    assert result.applied == 1 and not list((inbox / "cur").iterdir())
    assert [p.name for p in (inbox / ".processed" / "cur").iterdir()] == ["1763700000.M1P1.host:2,S"]


def test_replies_spread_over_small_batches_are_each_applied(world: World):
    cases = world.add_cases("sanitation", 5)
    world.notify()
    result = deliver(world, *[plain(world.notice(c), text, message_id=f"b{i}@x.cn")
                              for i, (c, text) in enumerate(zip(cases, ["接收", "办结", "进展：已派人", "退回 不归我们管", "接收"]))],
                     batch_size=2)
    assert (result.read, result.applied, result.rerouted + result.needs_meeting) == (5, 5, 1)
    assert world.scalar("SELECT count(*) FROM inbound_messages WHERE run_id = 'test-run'") == 5
    # Five answers; the done one also scheduled its look-back.
    assert world.scalar("SELECT count(*) FROM case_events WHERE inbound_id IS NOT NULL") == 6


def test_readdress_replaces_folded_headers(world: World):
    raw = b"To: a@b.cn,\r\n c@d.cn\r\nSubject: x\r\n\r\nbody\r\n"
    assert readdress(raw, {"To": "<e@f.cn>"}) == b"To: <e@f.cn>\r\nSubject: x\r\n\r\nbody\r\n"


def test_fetch_answers_are_read_whatever_the_order_of_their_items():
    # Dovecot puts the UID before the literal; other servers put it after (RFC 3501 allows both).
    answer = [(b'1 (BODY[] {5}', b"hello"), b' UID 7 INTERNALDATE "21-Nov-2026 07:00:00 +0000")',
              (b"2 (UID 8 BODY[] {3}", b"abc"), b")", b"3 (UID 9 RFC822.SIZE 12)"]
    assert list(_fetched(answer)) == [("7", None, datetime(2026, 11, 21, 7, 0), b"hello"), ("8", None, None, b"abc"),
                                      ("9", 12, None, b"")]


def test_batches_are_bounded_by_count_and_bytes_and_commands_by_uid_ranges():
    mb = 1024 * 1024
    assert [len(b) for b in _grouped([(str(i), 5000) for i in range(2500)], 1000, 25 * mb)] == [1000, 1000, 500]
    assert [len(b) for b in _grouped([(str(i), 20 * mb) for i in range(7)], 1000, 25 * mb)] == [3, 3, 1]
    # Messages over the limit are fetched as headers only, and weigh as such.
    assert [len(b) for b in _grouped([(str(i), 30 * mb) for i in range(5)], 1000, 25 * mb)] == [5]
    assert _uid_set([9, 1, 2, 3, 5, 7, 8, 12]) == "1:3,5,7:9,12"
