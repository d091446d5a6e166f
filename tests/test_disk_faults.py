"""A full disk or a folder that cannot be written: the run fails loudly with a bilingual error,
nothing half-written is taken as done, and once the disk is fixed the next run finishes the job
with nothing lost and nothing doubled.

Tests run as root here, so "not writable" is a file standing where the folder should be
(ENOTDIR / EEXIST), and "disk full" is a file-size limit (RLIMIT_FSIZE, EFBIG) on a process of
its own: writes past the limit fail as they would on a full disk.
"""

from __future__ import annotations

import mailbox
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from liandong.invariants import check
from liandong.settings import Settings, load_settings
from tasks.intake import pull_drop_folder_task
from tasks.intake.pull import ArchiveError
from tasks.mail import deliver_outbox_task
from tasks.mail.outbox import deliver_due, queue_drafts
from tasks.mail.retry import RETRY_DELAYS
from tasks.mail.transport import MaildirTransport, OutboxUnwritable
from tasks.replies.inbound import MaildirInbox
from tasks.replies.storage import StorageError
from tests.support.mail import AS_OF, simple_drafts
from tests.test_replies_ingest import REPLIED, World, ingest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
BILINGUAL = ("磁盘已满", "disk full")


def block(folder: Path) -> None:
    """A file where the folder should be: every write below it fails, even for root."""
    if folder.is_dir():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"not a folder")


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".part")] if folder.is_dir() else []


@pytest.fixture
def world(settings: Settings) -> World:
    return World(settings)


def reply_with_photo(world: World, padding: int = 0) -> None:
    (case,) = world.add_cases("sanitation")
    world.notify()
    raw = world.reply("06_netease126_en_done_attachment.eml", world.notice(case))
    if padding:  # a large photo, as a phone sends it
        raw = raw.replace(b"\r\n\r\n", f"\r\nX-Padding: {'p' * 70}\r\n\r\n".encode(), 1) + b"\r\n" + b"A" * padding
    mailbox.Maildir(world.settings.inbox_folder, factory=None, create=True).add(raw)


def violations(world: World) -> list:
    """World inserts its cases directly, without their `received` events: replay does not apply."""
    return [v for v in check(world.settings) if v.invariant != "replay"]


def pending(world: World) -> int:
    return sum(1 for sub in ("new", "cur") for _ in (world.settings.inbox_folder / sub).iterdir())


@pytest.mark.parametrize("folder", ["attachments_folder", "inbound_archive_folder"])
def test_reply_folders_not_writable_the_batch_waits(world: World, folder: str):
    reply_with_photo(world)
    blocked = getattr(world.settings, folder)
    block(blocked)

    with pytest.raises(StorageError) as failure:
        ingest(world, MaildirInbox(world.settings.inbox_folder))

    assert all(word in str(failure.value) for word in BILINGUAL), failure.value
    assert str(blocked) in str(failure.value)
    assert world.scalar("SELECT count(*) FROM inbound_messages") == 0 and pending(world) == 1

    blocked.unlink()
    result = ingest(world, MaildirInbox(world.settings.inbox_folder))
    assert (result.applied, result.attachments, pending(world)) == (1, 1, 0)
    assert violations(world) == []


DISK_FULL = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from datetime import datetime
from liandong.resources import Resources
from liandong.settings import load_settings
from tasks.replies.inbound import MaildirInbox
from tasks.replies.ingest import ingest_replies
settings = load_settings()
resources = Resources(settings)
with resources.warehouse() as wh:
    ingest_replies(wh, resources, MaildirInbox(settings.inbox_folder), datetime.fromisoformat(sys.argv[2]), "full", workers=1)
"""


def test_disk_full_while_keeping_a_reply_the_run_fails_and_nothing_is_half_kept(world: World):
    world.notify()  # the warehouse file exists: its size sets the limit
    limit = world.settings.warehouse_path.stat().st_size + (2 << 20)  # room for the warehouse to grow
    reply_with_photo(world, padding=limit + (1 << 20))  # but not for the message: ~11 MB

    run = subprocess.run([sys.executable, "-c", DISK_FULL, str(limit), REPLIED.isoformat()], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)

    assert run.returncode == 1 and "StorageError" in run.stderr, run.stderr[-2000:]
    assert all(word in run.stderr for word in BILINGUAL), run.stderr[-2000:]
    assert world.scalar("SELECT count(*) FROM inbound_messages") == 0 and pending(world) == 1
    assert leftovers(world.settings.inbound_archive_folder) == [], "no half-written raw copy"

    result = ingest(world, MaildirInbox(world.settings.inbox_folder))
    assert (result.applied, pending(world)) == (1, 0)
    (raw_path,) = [r["raw_path"] for r in world.rows("SELECT raw_path FROM inbound_messages")]
    assert os.path.getsize(raw_path) > limit
    assert violations(world) == []


def test_outbox_not_writable_fails_the_run_and_the_mail_waits(settings: Settings):
    from liandong.resources import Resources

    resources = Resources(settings)
    with resources.warehouse() as wh:
        queue_drafts(wh, resources.composer, simple_drafts(3), AS_OF)
    block(settings.outbox_folder)

    with pytest.raises(OutboxUnwritable) as failure:
        deliver_outbox_task.fn(settings, AS_OF)

    assert all(word in str(failure.value) for word in BILINGUAL) and str(settings.outbox_folder) in str(failure.value)
    with resources.warehouse() as wh:
        assert {r[0] for r in wh.execute("SELECT state FROM messages").fetchall()} == {"failed_temporary"}
        settings.outbox_folder.unlink()
        report = deliver_due(wh, MaildirTransport(settings.outbox_folder), AS_OF + RETRY_DELAYS[0])
    assert report.sent == 3 and len(list((settings.outbox_folder / "new").iterdir())) == 3
    assert check(settings) == []


def test_archive_not_writable_fails_intake_and_the_rerun_adds_nothing(liandong_home: Path, monkeypatch):
    monkeypatch.setenv("LIANDONG_ROSTER_PATH", str(DEMO / "roster.yaml"))
    settings = load_settings()
    export = "2026-11-02_12345热线.csv"
    shutil.copy(DEMO / "cases" / export, settings.drop_folder / export)
    block(settings.archive_folder)

    with pytest.raises(ArchiveError) as failure:
        pull_drop_folder_task.fn(settings, AS_OF, "full")

    assert all(word in str(failure.value) for word in BILINGUAL) and export in str(failure.value)
    assert (settings.drop_folder / export).exists(), "the export stays where it was"
    settings.archive_folder.unlink()
    (result,) = pull_drop_folder_task.fn(settings, AS_OF, "again")
    assert result.seen_before and result.new_cases == 0
    assert not (settings.drop_folder / export).exists()
    assert check(settings) == []  # every row of the archived file is a case or quarantined
