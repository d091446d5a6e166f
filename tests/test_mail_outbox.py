"""The outbox without faults: idempotent queueing, rejected drafts, the Maildir transport of the
demo, limits, and the transport built from settings."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from pydantic import SecretStr

from liandong.settings import Settings
from tasks.mail.compose import Composer, Draft
from tasks.mail.outbox import QUEUE_BATCH, deliver_due, queue_drafts, send_drafts
from tasks.mail.transport import MaildirTransport, SmtpTransport, transport_from_settings
from tests.support.mail import AS_OF, MAIL, assignment_drafts, simple_drafts
from tests.support.smtp_server import smtp_server
from warehouse.store import Warehouse, open_warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    with open_warehouse(tmp_path / "warehouse.duckdb") as wh:
        yield wh


def count(warehouse: Warehouse, where: str = "true") -> int:
    return warehouse.scalar(f"SELECT count(*) FROM messages WHERE {where}")


def test_queueing_a_key_twice_adds_nothing(warehouse):
    composer = Composer(MAIL)
    drafts = simple_drafts(30)
    first = queue_drafts(warehouse, composer, drafts + drafts[:5], AS_OF)
    assert (first.queued, first.already_queued) == (30, 5)
    second = queue_drafts(warehouse, composer, drafts, AS_OF)
    assert (second.queued, second.already_queued) == (0, 30)
    assert count(warehouse) == 30 and count(warehouse, "state = 'queued'") == 30


def test_a_long_queue_composed_in_worker_processes_holds_the_same_bytes(warehouse):
    composer = Composer(MAIL)
    drafts = simple_drafts(2 * QUEUE_BATCH + 30)  # the later batches go to the workers
    lead, _ = assignment_drafts()
    broken = Draft(**{**lead.__dict__, "context": {}, "idempotency_key": "broken"})
    report = queue_drafts(warehouse, composer, drafts + [broken], AS_OF)
    assert report.queued == len(drafts) and [key for key, _ in report.rejected] == ["broken"]
    stored = dict(warehouse.execute("SELECT idempotency_key, raw FROM messages").fetchall())
    assert stored == {d.idempotency_key: composer.compose(d, AS_OF).raw for d in drafts}
    (item,) = warehouse.rows("SELECT kind, ref FROM attention_items")
    assert (item["kind"], item["ref"]) == ("mail_compose_failed", "broken")


def test_send_drafts_twice_sends_once(warehouse):
    with smtp_server() as server:
        transport = SmtpTransport(server.host, server.port, connections=3)
        send_drafts(warehouse, Composer(MAIL), transport, simple_drafts(20), AS_OF)
        queued, report = send_drafts(warehouse, Composer(MAIL), transport, simple_drafts(20), AS_OF)
        assert (queued.queued, queued.already_queued, report.due) == (0, 20, 0)
        assert len(server.handler.messages()) == 20


def test_send_drafts_also_delivers_what_was_already_due(warehouse):
    queue_drafts(warehouse, Composer(MAIL), simple_drafts(4), AS_OF)
    with smtp_server() as server:
        queued, report = send_drafts(warehouse, Composer(MAIL), SmtpTransport(server.host, server.port),
                                     simple_drafts(3, start=100), AS_OF)
        assert (queued.queued, report.due, report.sent) == (3, 7, 7)
        assert len(server.handler.messages()) == 7


def test_a_draft_that_cannot_be_composed_goes_to_the_coordinator_once(warehouse):
    lead, support = assignment_drafts()
    broken = Draft(**{**lead.__dict__, "context": {}})
    for _ in range(2):
        report = queue_drafts(warehouse, Composer(MAIL), [broken, support], AS_OF)
        assert report.queued <= 1 and [key for key, _ in report.rejected] == [lead.idempotency_key]
    assert count(warehouse) == 1
    (item,) = warehouse.rows("SELECT kind, case_id, ref, reason FROM attention_items")
    assert (item["kind"], item["case_id"], item["ref"]) == ("mail_compose_failed", "LD-2026-000123",
                                                            lead.idempotency_key)
    assert "UndefinedError" in item["reason"]


def test_limit_takes_the_oldest_first(warehouse):
    queue_drafts(warehouse, Composer(MAIL), simple_drafts(10), AS_OF)
    with smtp_server() as server:
        report = deliver_due(warehouse, SmtpTransport(server.host, server.port), AS_OF, limit=4)
        assert (report.due, report.sent, len(server.handler.messages())) == (4, 4, 4)
    assert count(warehouse, "state = 'queued'") == 6


def test_the_demo_default_writes_to_the_outbox_folder(warehouse, tmp_path):
    settings = Settings(home=tmp_path / "var")
    transport = transport_from_settings(settings)
    assert isinstance(transport, MaildirTransport) and transport.folder == tmp_path / "var" / "outbox"
    lead, support = assignment_drafts()
    _, report = send_drafts(warehouse, Composer(settings.mail), transport, [lead, support], AS_OF)
    assert report.sent == 2
    box = mailbox.Maildir(transport.folder, factory=None, create=False)
    stored = {}
    for key in box.iterkeys():
        raw = box.get_bytes(key)
        stored[message_from_bytes(raw, policy=policy.default)["Message-ID"].strip("<>")] = raw
    rows = {r["message_id"]: r["raw"] for r in warehouse.rows("SELECT message_id, raw FROM messages")}
    assert stored == rows


def test_smtp_transport_from_settings_keeps_the_password_out_of_its_repr():
    settings = Settings(mail=MAIL.model_copy(update={
        "transport": "smtp", "smtp_host": "smtp.example.cn", "smtp_port": 465, "smtp_security": "tls",
        "smtp_username": "liandong", "smtp_password": SecretStr("pa55-word"), "smtp_connections": 12,
        "smtp_timeout_seconds": 20.0}))
    transport = transport_from_settings(settings)
    assert isinstance(transport, SmtpTransport)
    assert (transport.host, transport.port, transport.security, transport.connections, transport.timeout) == \
        ("smtp.example.cn", 465, "tls", 12, 20.0)
    assert transport.password == "pa55-word" and "pa55-word" not in repr(transport)
