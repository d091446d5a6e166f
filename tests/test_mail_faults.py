"""Faults with a real aiosmtpd server: 4xx then success, 5xx, partial refusals, lost links,
stalls, a server that is down, and a sender killed in the middle of a batch."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tasks.mail import tables
from tasks.mail.compose import Composer, Draft, Recipient
from tasks.mail.outbox import deliver_due, queue_drafts, send_drafts
from tasks.mail.retry import RETRY_DELAYS
from tasks.mail.transport import SmtpTransport
from tests.support.mail import AS_OF, LEAD, MAIL, assignment_drafts, simple_drafts
from tests.support.smtp_server import Received, RecordingHandler, RunningServer, smtp_server, unused_port
from warehouse.store import Warehouse, open_warehouse

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    with open_warehouse(tmp_path / "warehouse.duckdb") as wh:
        yield wh


def transport_to(server: RunningServer | int, **options) -> SmtpTransport:
    host, port = ("127.0.0.1", server) if isinstance(server, int) else (server.host, server.port)
    return SmtpTransport(host, port, **{"connections": 2, "timeout": 5, **options})


def states(warehouse: Warehouse) -> dict[str, dict]:
    return {r["idempotency_key"]: r for r in warehouse.rows("SELECT * EXCLUDE (raw) FROM messages")}


def attention(warehouse: Warehouse) -> list[dict]:
    return warehouse.rows("SELECT kind, case_id, ref, reason FROM attention_items ORDER BY attention_id")


def refuse_first(answer: str, times: int = 1):
    """A hook that answers `answer` the first `times` calls and accepts afterwards."""
    calls = iter(range(times))
    return lambda *_: answer if next(calls, None) is not None else None


def with_two_recipients() -> Draft:
    lead, _ = assignment_drafts()
    return Draft(**{**lead.__dict__, "to": (LEAD, Recipient("备用", "spare@pcs.example.cn"))})


def test_a_4xx_then_success_is_sent_exactly_once(warehouse):
    with smtp_server(RecordingHandler(on_data=refuse_first("451 4.3.0 try again later"))) as server:
        lead, _ = assignment_drafts()
        _, first = send_drafts(warehouse, Composer(MAIL), transport_to(server), [lead], AS_OF)
        assert (first.sent, first.failed_temporary) == (0, 1)
        row = states(warehouse)[lead.idempotency_key]
        assert row["state"] == "failed_temporary" and row["attempts"] == 1
        assert row["next_attempt_at"] == AS_OF + RETRY_DELAYS[0] and "451" in row["last_error"]

        assert deliver_due(warehouse, transport_to(server), AS_OF + timedelta(minutes=4)).due == 0, "back-off"
        second = deliver_due(warehouse, transport_to(server), AS_OF + RETRY_DELAYS[0])
        assert (second.due, second.sent) == (1, 1)
        assert deliver_due(warehouse, transport_to(server), AS_OF + timedelta(days=1)).due == 0
        received = server.handler.messages()
    assert len(received) == 1
    row = states(warehouse)[lead.idempotency_key]
    assert (row["state"], row["attempts"], row["last_error"]) == ("sent", 2, None)
    assert received[0].message_id == row["message_id"]
    assert attention(warehouse) == []


def test_a_5xx_is_permanent_and_the_coordinator_is_told(warehouse):
    refuse = RecordingHandler(on_rcpt=lambda address: "550 5.1.1 no such user" if address.startswith("wang") else None)
    with smtp_server(refuse) as server:
        lead, support = assignment_drafts()
        _, report = send_drafts(warehouse, Composer(MAIL), transport_to(server), [lead, support], AS_OF)
        assert [r.rcpt_tos for r in server.handler.messages()] == [("chen@eco.example.cn",)]
    assert (report.sent, report.failed_permanent) == (1, 1)
    row = states(warehouse)[lead.idempotency_key]
    assert row["state"] == "failed_permanent" and "550" in row["last_error"]
    (item,) = attention(warehouse)
    assert (item["kind"], item["case_id"], item["ref"]) == ("mail_failed", "LD-2026-000123", row["message_id"])
    assert "550 5.1.1 no such user" in item["reason"] and "wang@pcs.example.cn" in item["reason"]
    assert report.problems == [item["reason"]]
    assert deliver_due(warehouse, transport_to(unused_port()), AS_OF + timedelta(days=1)).due == 0


def test_a_message_refused_at_data_is_permanent(warehouse):
    with smtp_server(RecordingHandler(on_data=lambda *_: "554 5.7.1 rejected as spam")) as server:
        _, report = send_drafts(warehouse, Composer(MAIL), transport_to(server), simple_drafts(1), AS_OF)
    assert report.failed_permanent == 1
    assert [a["kind"] for a in attention(warehouse)] == ["mail_failed"]


def test_one_recipient_refused_for_good_the_other_served(warehouse):
    handler = RecordingHandler(on_rcpt=lambda address: "550 5.1.1 unknown" if address.startswith("spare") else None)
    with smtp_server(handler) as server:
        _, report = send_drafts(warehouse, Composer(MAIL), transport_to(server), [with_two_recipients()], AS_OF)
        assert [r.rcpt_tos for r in server.handler.messages()] == [("wang@pcs.example.cn",)]
    assert report.sent == 1
    (row,) = states(warehouse).values()
    assert row["state"] == "sent" and "spare@pcs.example.cn: 550 5.1.1 unknown" in row["last_error"]
    (item,) = attention(warehouse)
    assert item["kind"] == "mail_recipient_refused" and "spare@pcs.example.cn" in item["reason"]


def test_a_deferred_recipient_is_retried_alone(warehouse):
    greylist = refuse_first("450 4.2.0 greylisted, come back later")
    handler = RecordingHandler(on_rcpt=lambda address: greylist() if address.startswith("spare") else None)
    with smtp_server(handler) as server:
        _, first = send_drafts(warehouse, Composer(MAIL), transport_to(server), [with_two_recipients()], AS_OF)
        (row,) = states(warehouse).values()
        assert (first.failed_temporary, row["retry_rcpts"], row["sent_at"]) == (1, "spare@pcs.example.cn", AS_OF)
        second = deliver_due(warehouse, transport_to(server), AS_OF + RETRY_DELAYS[0])
        received = server.handler.messages()
    assert second.sent == 1
    assert [r.rcpt_tos for r in received] == [("wang@pcs.example.cn",), ("spare@pcs.example.cn",)]
    assert received[0].data == received[1].data, "the same message, the same Message-ID"
    (row,) = states(warehouse).values()
    assert (row["state"], row["retry_rcpts"], row["sent_at"]) == ("sent", None, AS_OF)


def test_a_connection_lost_in_the_middle_of_data_is_retried(warehouse):
    dropped = threading.Event()

    def drop_once(envelope, server):
        if not dropped.is_set():
            dropped.set()
            server.transport.close()
            return "421 4.4.2 closing"
        return None

    with smtp_server(RecordingHandler(on_data=drop_once)) as server:
        _, first = send_drafts(warehouse, Composer(MAIL), transport_to(server, connections=1),
                               simple_drafts(3), AS_OF)
        assert (first.sent, first.failed_temporary) == (2, 1), "the connection is reopened for the others"
        deliver_due(warehouse, transport_to(server), AS_OF + RETRY_DELAYS[0])
        received = server.handler.messages()
    assert len(received) == len({r.message_id for r in received}) == 3


def test_a_stalled_server_times_out_and_the_message_is_retried(warehouse):
    stalled = threading.Event()

    async def stall_once(envelope, server):
        if not stalled.is_set():
            stalled.set()
            await asyncio.sleep(2)
        return None

    with smtp_server(RecordingHandler(on_data=stall_once)) as server:
        _, first = send_drafts(warehouse, Composer(MAIL), transport_to(server, connections=1, timeout=0.5),
                               simple_drafts(1), AS_OF)
        assert first.failed_temporary == 1
        assert "Timeout" in states(warehouse)["assignment:LD-2026-000001/1"]["last_error"]
        time.sleep(2)  # the stalled handler finishes and stores its copy: the known duplicate case
        second = deliver_due(warehouse, transport_to(server), AS_OF + RETRY_DELAYS[0])
    assert second.sent == 1


def test_server_down_the_run_returns_and_everything_waits(warehouse):
    drafts = simple_drafts(250)
    queued, report = send_drafts(warehouse, Composer(MAIL), transport_to(unused_port(), connections=4),
                                 drafts, AS_OF, chunk_size=50)
    assert queued.queued == 250
    assert (report.due, report.sent, report.failed_temporary, report.failed_permanent) == (250, 0, 250, 0)
    assert report.transport_error.startswith("cannot use SMTP server 127.0.0.1:")
    rows = states(warehouse).values()
    assert {(r["state"], r["attempts"], r["next_attempt_at"]) for r in rows} == \
        {("failed_temporary", 1, AS_OF + RETRY_DELAYS[0])}
    assert attention(warehouse) == []


def test_three_days_of_failures_become_permanent(warehouse):
    port = unused_port()
    queue_drafts(warehouse, Composer(MAIL), simple_drafts(2), AS_OF)
    moment, attempts = AS_OF, 0
    while True:
        report = deliver_due(warehouse, transport_to(port), moment)
        attempts += 1
        if report.failed_permanent:
            break
        assert report.failed_temporary == 2
        moment = min(r["next_attempt_at"] for r in states(warehouse).values())
    # Attempts at 0, 5 min, 35 min, 2 h 35, then every 6 h: the 16th is the first past 3 days.
    assert (attempts, moment) == (16, AS_OF + timedelta(days=3, hours=2, minutes=35))
    assert {r["state"] for r in states(warehouse).values()} == {"failed_permanent"}
    items = attention(warehouse)
    assert [i["kind"] for i in items] == ["mail_failed", "mail_failed"]
    assert "16 attempts over 3 days" in items[0]["reason"]


def test_rows_left_sending_are_sent_again_first(warehouse):
    queue_drafts(warehouse, Composer(MAIL), simple_drafts(5), AS_OF)
    ids = [r["message_id"] for r in warehouse.rows("SELECT message_id FROM messages ORDER BY message_id")]
    tables.claim(warehouse, ids[:2], AS_OF)  # as a run killed right after claiming would leave them
    with smtp_server() as server:
        report = deliver_due(warehouse, transport_to(server), AS_OF, limit=2)
        assert (report.due, report.resumed, report.sent) == (2, 2, 2)
        assert {r.message_id for r in server.handler.messages()} == set(ids[:2])
    assert {r["message_id"]: r["attempts"] for r in warehouse.rows(
        "SELECT message_id, attempts FROM messages WHERE state = 'sent'")} == {ids[0]: 2, ids[1]: 2}


KILLED_SENDER = """
import sys
from datetime import datetime
from tasks.mail.outbox import deliver_due
from tasks.mail.transport import SmtpTransport
from warehouse.store import open_warehouse

path, port, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open_warehouse(path) as wh:
    deliver_due(wh, SmtpTransport("127.0.0.1", port, connections=4, timeout=10),
                datetime.fromisoformat(sys.argv[4]), chunk_size=chunk)
"""


def test_a_sender_killed_mid_batch_loses_nothing_and_repeats_at_most_what_was_in_flight(tmp_path):
    total, chunk = 600, 25
    path = tmp_path / "warehouse.duckdb"
    with open_warehouse(path) as wh:
        queue_drafts(wh, Composer(MAIL), simple_drafts(total), AS_OF)
        queued_ids = {r[0] for r in wh.execute("SELECT message_id FROM messages").fetchall()}
    halfway = threading.Event()

    async def slow_accept(envelope, server):
        await asyncio.sleep(0.003)  # keep the batch running long enough to be killed inside it
        if len(handler.received) >= total // 3:
            halfway.set()
        return None

    handler = RecordingHandler(on_data=slow_accept)
    with smtp_server(handler) as server:
        sender = subprocess.Popen([sys.executable, "-c", KILLED_SENDER, str(path), str(server.port), str(chunk),
                                   AS_OF.isoformat()], cwd=ROOT)
        assert halfway.wait(60), "the sender never got a third of the way"
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait(10)
        before_rerun = len(handler.messages())
        assert before_rerun < total, "the kill must land inside the batch"

        with open_warehouse(path) as wh:
            left_sending = wh.scalar("SELECT count(*) FROM messages WHERE state = 'sending'")
            report = deliver_due(wh, transport_to(server, connections=4), AS_OF, chunk_size=chunk)
            final = dict(wh.execute("SELECT state, count(*) FROM messages GROUP BY state").fetchall())
        received = [r.message_id for r in handler.messages()]

    duplicates = len(received) - len(set(received))
    assert set(received) == queued_ids, "nothing lost"
    assert final == {"sent": total}
    assert report.resumed == left_sending <= 2 * chunk
    assert duplicates <= left_sending, (duplicates, left_sending)


@pytest.mark.parametrize(("where", "answer"), [
    ("rcpt", "421 4.7.0 too many connections, try again later"),
    ("data", "421 4.3.2 service shutting down"),
    ("rcpt", "452 4.5.3 insufficient system storage"),
    ("data", "452 4.3.1 insufficient system storage"),
])
def test_421_and_452_then_recovering_sends_each_message_once(warehouse, where, answer):
    refusing = refuse_first(answer, times=2)
    handler = RecordingHandler(**{f"on_{where}": lambda *args: refusing()})
    with smtp_server(handler) as server:
        _, first = send_drafts(warehouse, Composer(MAIL), transport_to(server, connections=1), simple_drafts(4), AS_OF)
        assert (first.sent, first.failed_temporary, first.failed_permanent) == (2, 2, 0)
        errors = [r["last_error"] for r in states(warehouse).values() if r["state"] == "failed_temporary"]
        assert len(errors) == 2 and all(answer.split()[0] in e for e in errors), errors
        second = deliver_due(warehouse, transport_to(server), AS_OF + RETRY_DELAYS[0])
        received = [r.message_id for r in server.handler.messages()]
    assert second.sent == 2 and len(received) == len(set(received)) == 4
    assert {r["state"] for r in states(warehouse).values()} == {"sent"} and attention(warehouse) == []


def test_a_server_process_killed_mid_batch_then_back_loses_and_doubles_nothing(warehouse, tmp_path):
    """The connection drops because the server process dies (SIGKILL) in the middle of a batch;
    a new server comes up; the retry delivers the rest: nothing lost, repeats only of what was
    on the wire when it died."""
    from tests.support.smtp_sink import sink_process

    total = 300
    queue_drafts(warehouse, Composer(MAIL), simple_drafts(total), AS_OF)
    queued = {r[0] for r in warehouse.execute("SELECT message_id FROM messages").fetchall()}
    first_box, second_box = tmp_path / "first", tmp_path / "second"
    with sink_process(first_box) as (port, pid):
        def kill_when_a_third_arrived():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if len(list((first_box / "new").glob("*"))) >= total // 3:
                    os.kill(pid, signal.SIGKILL)
                    return
                time.sleep(0.005)
        killer = threading.Thread(target=kill_when_a_third_arrived)
        killer.start()
        first = deliver_due(warehouse, transport_to(port, connections=2, timeout=5), AS_OF, chunk_size=25)
        killer.join()
    assert 0 < first.sent < total and first.failed_temporary == total - first.sent, first
    assert first.transport_error
    with sink_process(second_box) as (port, _):
        second = deliver_due(warehouse, transport_to(port), AS_OF + RETRY_DELAYS[0], chunk_size=25)
    assert second.sent == total - first.sent
    delivered = [Received("", (), p.read_bytes()).message_id
                 for box in (first_box, second_box) for p in (box / "new").iterdir()]
    assert set(delivered) == queued, "nothing lost"
    assert len(delivered) - len(set(delivered)) <= 2, "at most one message per connection was on the wire"
    assert {r["state"] for r in states(warehouse).values()} == {"sent"}
