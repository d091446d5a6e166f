"""Reply ingestion from a real Dovecot (tests/support/dovecot.py): every client style of the fixture
corpus APPENDed and ingested over STARTTLS, implicit TLS, a server restarted mid-fetch or down,
a server without MOVE, oversized messages, and the Prefect flow once."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.ingest_replies import ingest_replies_flow
from liandong.settings import Settings
from tasks.replies.inbound import ImapInbox, Mailbox
from tests.support.dovecot import Dovecot, dovecot  # noqa: F401 - the session fixture
from tests.support.smtp_server import self_signed_certificate, unused_port
from tests.test_replies_ingest import (
    LATER,
    REPLIED,
    World,
    check_first_run,
    check_second_run,
    deliver_scenario,
    deliver_second_run,
    ingest,
)

PROCESSED = "Liandong-Processed"


@pytest.fixture(autouse=True)
def empty_mailbox(dovecot: Dovecot) -> None:  # noqa: F811
    dovecot.empty()


@pytest.fixture
def world(settings: Settings) -> World:
    return World(settings)


def imap(server: Dovecot, security: str = "starttls", cafile: str | None = None, **options) -> ImapInbox:
    port = server.tls_port if security == "tls" else server.port
    context = ssl.create_default_context(cafile=cafile or str(server.cafile))
    return ImapInbox(server.host, port, server.user, server.password, security=security, tls_context=context,
                     processed_folder=PROCESSED, timeout=5, **options)


def replies_to_cases(world: World, server: Dovecot, count: int) -> list[str]:
    """`count` accepting replies, each to its own case's notice."""
    cases = world.add_cases("sanitation", count)
    world.notify()
    for case in cases:
        server.append(world.reply("12_gmail_en_accept.eml", world.notice(case), Message_ID=f"<accept-{case}@x.cn>"),
                      when=REPLIED)
    return cases


def accepted(world: World) -> int:
    return world.scalar("SELECT count(*) FROM assignments WHERE state = 'accepted'")


def test_every_client_style_through_dovecot(world: World, dovecot: Dovecot):  # noqa: F811
    scenario = deliver_scenario(world, lambda raw: dovecot.append(raw, when=REPLIED))
    appended = len(dovecot.uids())

    first = ingest(world, imap(dovecot), batch_size=10)

    check_first_run(world, scenario, first)
    assert dovecot.uids() == [] and len(dovecot.uids(PROCESSED)) == appended == first.read

    deliver_second_run(world, scenario, lambda raw: dovecot.append(raw, when=LATER))
    check_second_run(world, scenario, ingest(world, imap(dovecot), LATER))


def test_implicit_tls_reads_the_mailbox(world: World, dovecot: Dovecot):  # noqa: F811
    replies_to_cases(world, dovecot, 2)
    result = ingest(world, imap(dovecot, "tls"))
    assert (result.transport_error, result.applied, accepted(world)) == (None, 2, 2)


def test_an_untrusted_certificate_is_refused_and_nothing_is_lost(world: World, dovecot: Dovecot, tmp_path):  # noqa: F811
    replies_to_cases(world, dovecot, 2)
    someone_else, _ = self_signed_certificate(tmp_path)
    for security in ("tls", "starttls"):
        result = ingest(world, imap(dovecot, security, cafile=str(someone_else)))
        assert result.transport_error and "CERTIFICATE_VERIFY_FAILED" in result.transport_error
        assert result.read == 0
    assert len(dovecot.uids()) == 2 and accepted(world) == 0


def test_a_server_that_is_down_or_refuses_the_login_is_reported(world: World, dovecot: Dovecot):  # noqa: F811
    replies_to_cases(world, dovecot, 1)
    down = ImapInbox("127.0.0.1", unused_port(), "tester", "s3cret", security="none", timeout=2)
    refused = ImapInbox(dovecot.host, dovecot.port, "tester", "wrong-Pa55word", security="none", timeout=5)
    for transport in (down, refused):
        result = ingest(world, transport)
        assert result.transport_error and result.read == 0
        assert "wrong-Pa55word" not in result.transport_error
    assert len(dovecot.uids()) == 1 and accepted(world) == 0


@dataclass
class Interrupted:
    """The real IMAP transport; the server is restarted at one chosen moment of the run."""

    inbox: ImapInbox
    server: Dovecot
    when: str  # "between batches" (mid-fetch) or "before the first move"

    @contextmanager
    def open(self) -> Iterator[Mailbox]:
        with self.inbox.open() as box:
            yield _InterruptedBox(box, self)


@dataclass
class _InterruptedBox:
    box: Mailbox
    plan: Interrupted
    done: bool = False

    def batches(self, size: int):
        for batch in self.box.batches(size):
            yield batch
            self._restart_once("between batches")

    def mark_processed(self, refs) -> None:
        self._restart_once("before the first move")
        self.box.mark_processed(refs)

    def _restart_once(self, moment: str) -> None:
        if self.plan.when == moment and not self.done:
            self.done = True
            self.plan.server.restart()


@pytest.mark.parametrize("when", ["between batches", "before the first move"])
def test_a_server_restarted_mid_run_loses_nothing(world: World, dovecot: Dovecot, when: str):  # noqa: F811
    cases = replies_to_cases(world, dovecot, 9)

    first = ingest(world, Interrupted(imap(dovecot), dovecot, when), batch_size=4)

    # The first batch's effects are committed; it is moved or waits, the rest wait unmoved.
    moved = len(dovecot.uids(PROCESSED))
    assert first.transport_error and accepted(world) == 4
    assert moved in (0, 4) and len(dovecot.uids()) == 9 - moved

    second = ingest(world, imap(dovecot), batch_size=4)

    assert second.transport_error is None and second.duplicates == 4 - moved
    assert accepted(world) == 9 and dovecot.uids() == [] and len(dovecot.uids(PROCESSED)) == 9
    assert world.scalar("SELECT count(*) FROM inbound_messages") == 9
    assert world.scalar("SELECT count(*) FROM case_events WHERE kind = 'accepted'") == len(cases)


@dataclass
class WithoutMove:
    """The real IMAP transport, told the server lacks MOVE (as some providers' servers do)."""

    inbox: ImapInbox

    @contextmanager
    def open(self) -> Iterator[Mailbox]:
        with self.inbox.open() as box:
            box.can_move = False
            yield box


def test_without_move_messages_are_copied_then_expunged(world: World, dovecot: Dovecot):  # noqa: F811
    replies_to_cases(world, dovecot, 3)
    result = ingest(world, WithoutMove(imap(dovecot)))
    assert (result.applied, dovecot.uids(), len(dovecot.uids(PROCESSED))) == (3, [], 3)


def test_an_oversized_message_is_not_fetched_whole(world: World, dovecot: Dovecot):  # noqa: F811
    cases = world.add_cases("sanitation")
    world.notify()
    dovecot.append(world.reply("12_gmail_en_accept.eml", world.notice(cases[0])) + b"y" * 200_000)

    result = ingest(world, imap(dovecot, max_bytes=100_000))

    assert (result.attention, accepted(world), dovecot.uids()) == (1, 0, [])
    (item,) = world.rows("SELECT kind, reason FROM attention_items")
    assert item["kind"] == "reply_unreadable" and "too large" in item["reason"]
    raw_path = world.scalar("SELECT raw_path FROM inbound_messages")
    assert open(raw_path, "rb").read().endswith(b"\r\n\r\n")  # the header is kept; the message stays on the server


@pytest.mark.prefect
def test_the_flow_reads_imap_and_lists_what_needs_the_coordinator(prefect_harness, world: World, dovecot: Dovecot,  # noqa: F811
                                                                   monkeypatch):
    for name, value in {"ENABLED": "true", "HOST": dovecot.host, "PORT": str(dovecot.port), "SECURITY": "starttls",
                        "USERNAME": dovecot.user, "PASSWORD": dovecot.password, "CA_FILE": str(dovecot.cafile),
                        "PROCESSED_FOLDER": PROCESSED}.items():
        monkeypatch.setenv(f"LIANDONG_IMAP__{name}", value)
    replies_to_cases(world, dovecot, 2)
    declined, empty = world.add_cases("sanitation", 2)
    world.notify()
    dovecot.append(world.reply("04_foxmail_decline_no_reason.eml", world.notice(declined)))
    dovecot.append(world.reply("29_gmail_empty_reply_quote_only.eml", world.notice(empty)))

    state = ingest_replies_flow(as_of=REPLIED + timedelta(hours=1), return_state=True)

    assert state.is_completed(), state.message
    result = state.result()
    assert (result.read, result.applied, result.asked_again, result.attention) == (4, 2, 1, 1)
    assert dovecot.uids() == []
    # The request for the decline's reason went out at once (the demo's Maildir outbox).
    assert world.scalar("SELECT state FROM messages WHERE idempotency_key LIKE 'ask-reason:%'") == "sent"
    # The harness is shared with other tests' runs: this run's artifact is the newest.
    artifact = max(asyncio.run(_artifacts("reply-attention")), key=lambda a: a.created)
    assert "reply_unknown_intent" in str(artifact.data) and empty in str(artifact.data)


async def _artifacts(key: str) -> list:
    async with get_client() as client:
        return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))



def test_a_message_the_parser_cannot_read_goes_to_the_coordinator_and_the_rest_is_applied(
        world: World, dovecot: Dovecot):  # noqa: F811
    from tests.test_replies_hostile import HOSTILE

    cases = replies_to_cases(world, dovecot, 2)
    extra = world.add_cases("sanitation")
    world.notify()
    dovecot.append(HOSTILE["deep_nesting"](world.notice(extra[0])), when=REPLIED)  # 3,000 nested multiparts
    dovecot.append(HOSTILE["garbage"](world.notice(extra[0])), when=REPLIED)

    result = ingest(world, imap(dovecot), batch_size=2)

    assert result.transport_error is None and (result.read, result.applied, accepted(world)) == (4, 2, len(cases))
    unreadable = world.rows("SELECT i.outcome, a.kind FROM inbound_messages i JOIN attention_items a "
                            "ON a.ref = i.inbound_id WHERE i.outcome = 'attention'")
    assert [r["kind"] for r in unreadable].count("reply_unreadable") >= 1
    assert dovecot.uids() == [] and len(dovecot.uids(PROCESSED)) == 4, "every message handled and moved"
    assert world.scalar("SELECT count(*) FROM inbound_messages") == 4
