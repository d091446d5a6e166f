"""The four invariants Liandong keeps whatever happens (docs/reliability.md), as code that the
tests share and an operator can run:

    python -m liandong.invariants        # prints every violation; exit status 1 if there is one

1. **Nothing lost**: every row of every file the intake read is a case or in quarantine (the
   archived files are read again and compared); every inbound message read is applied, ignored
   with a reason, or on the attention list; every message in the processed reply folder was
   recorded; every outbox message marked sent is in the outbox folder (Maildir transport).
2. **No double effect**: no reply applied twice; no outbox message delivered twice to the Maildir
   outbox, except those in flight when a run was killed (`allowed_repeats`).
3. **Replay**: the state tables agree with the append-only `case_events`.
4. **The warehouse opens and migrates** to the latest schema.

The SQL of each check is in warehouse/queries/ under the name of what it answers. Checks only
read: running them on a live system is safe (the warehouse is opened for writing, which waits
for a running writer like any run does, because opening and migrating is invariant 4).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path

import duckdb

from liandong.settings import Settings, load_settings
from warehouse.store import Warehouse, WarehouseError, migrations, open_warehouse

NOTHING_LOST, NO_DOUBLE_EFFECT, REPLAY, OPENS = "nothing-lost", "no-double-effect", "replay", "opens"
_SQL_CHECKS = (
    (NOTHING_LOST, "intake_rows_unaccounted"),
    (NOTHING_LOST, "inbound_unaccounted"),
    (NO_DOUBLE_EFFECT, "replies_applied_twice"),
    (REPLAY, "cases_disagreeing_with_events"),
)


@dataclass(frozen=True)
class Violation:
    invariant: str
    ref: str
    what: str  # Chinese / English

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.ref}: {self.what}"


def check(settings: Settings, allowed_repeats: Iterable[str] | None = None) -> list[Violation]:
    """Every invariant on the system `settings` describe. `allowed_repeats`: Message-IDs that
    were in flight when a run was killed, which may arrive twice (default: the outbox rows left
    `sending` now)."""
    try:
        with open_warehouse(settings.warehouse_path, lock_timeout=settings.warehouse_lock_timeout) as wh:
            allowed = in_flight(wh) if allowed_repeats is None else allowed_repeats
            return (check_schema(wh) + check_warehouse(wh) + check_intake_files(wh, settings)
                    + check_inbound_files(wh, settings) + check_outbox(wh, settings, allowed))
    except (WarehouseError, duckdb.Error) as exc:
        return [Violation(OPENS, str(settings.warehouse_path), f"无法打开或迁移 / cannot open or migrate: {exc}")]


def check_schema(wh: Warehouse) -> list[Violation]:
    applied = {r[0] for r in wh.execute("SELECT version FROM schema_migrations").fetchall()}
    missing = [f"{v:03d}_{name}" for v, name, _ in migrations() if v not in applied]
    return [Violation(OPENS, name, "迁移未应用 / migration not applied") for name in missing]


def check_warehouse(wh: Warehouse) -> list[Violation]:
    """The checks that need only the warehouse."""
    return [Violation(invariant, row["ref"], row["what"])
            for invariant, query in _SQL_CHECKS for row in wh.query(query)]


def in_flight(wh: Warehouse) -> set[str]:
    """Message-IDs of outbox rows a killed delivery left `sending` (they may go out twice)."""
    return {row["message_id"] for row in wh.query("outbox_in_flight")}


def check_intake_files(wh: Warehouse, settings: Settings) -> list[Violation]:
    """Every archived export is read again: each row must be a case (by source and reference) or
    quarantined (by source and location), and the file must be recorded in `source_files`."""
    from liandong.roster import load_roster
    from tasks.intake.validation import Placement, validate_rows
    from tasks.sources.drop_folder import list_drop_files, read_drop_file

    folders = sorted(p for p in settings.archive_folder.glob("*") if p.is_dir()) if settings.archive_folder.is_dir() else []
    files = [drop for folder in folders for drop in list_drop_files(folder)]
    if not files:
        return []
    placement = Placement(load_roster(settings.roster_path))
    known_files = {r[0] for r in wh.execute("SELECT sha256 FROM source_files").fetchall()}
    cases = set(wh.execute("SELECT source, source_ref FROM cases").fetchall())
    quarantined = set(wh.execute("SELECT source, location FROM quarantine").fetchall())
    violations = []
    for drop in files:
        where = f"{drop.path.parent.name}/{drop.path.name}"
        if drop.sha256 not in known_files:
            violations.append(Violation(NOTHING_LOST, where, "已归档但未记录读取 / archived but never recorded as read"))
            continue
        good, bad = validate_rows(list(read_drop_file(drop, settings.intake.column_map)), placement)
        rows = [(raw, (case.source, case.source_ref)) for raw, case, _, _ in good] + [(r.row, None) for r in bad]
        for raw, key in rows:
            if (raw.source, raw.location) not in quarantined and key not in cases:
                violations.append(Violation(NOTHING_LOST, raw.location,
                                            "这一行既不是诉求也不在隔离区 / this row is neither a case nor quarantined"))
    return violations


def check_inbound_files(wh: Warehouse, settings: Settings) -> list[Violation]:
    """Maildir replies (the IMAP server's folders are the server's): every message moved to the
    processed folder was recorded, and every raw copy kept is recorded or still waiting."""
    if settings.imap.enabled or not settings.inbox_folder.is_dir():
        return []
    from tasks.replies.inbound import PROCESSED

    recorded = {r[0] for r in wh.execute("SELECT inbound_id FROM inbound_messages").fetchall()}
    waiting = {_inbound_id(path) for path in _maildir_files(settings.inbox_folder)}
    violations = [Violation(NOTHING_LOST, path.name, "已移入已处理文件夹但没有记录 / moved to processed but never recorded")
                  for path in _maildir_files(settings.inbox_folder / PROCESSED)
                  if _inbound_id(path) not in recorded]
    archive = settings.inbound_archive_folder
    kept = {p.stem for p in archive.glob("*/*.eml")} if archive.is_dir() else set()
    violations += [Violation(NOTHING_LOST, inbound_id, "原件已存档，但既无记录也不在收件箱 / raw copy kept but the "
                                                       "message is neither recorded nor waiting in the inbox")
                   for inbound_id in sorted(kept - recorded - waiting)]
    return violations


def check_outbox(wh: Warehouse, settings: Settings, allowed_repeats: Iterable[str] = ()) -> list[Violation]:
    """Maildir transport: each sent message is in the outbox folder, once (or twice if it was in
    flight at a crash)."""
    if settings.mail.transport != "maildir":
        return []
    delivered = Counter(_message_id(path) for path in _maildir_files(settings.outbox_folder))
    allowed = set(allowed_repeats)
    violations = [Violation(NO_DOUBLE_EFFECT, message_id, f"发出 {n} 次 / delivered {n} times")
                  for message_id, n in sorted(delivered.items(), key=lambda kv: str(kv[0]))
                  if n > (2 if message_id in allowed else 1)]
    sent = {r[0] for r in wh.execute("SELECT message_id FROM messages WHERE state = 'sent'").fetchall()}
    violations += [Violation(NOTHING_LOST, message_id, "标为已发送但不在发件箱 / marked sent but not in the outbox")
                   for message_id in sorted(sent - set(delivered))]
    return violations


def _maildir_files(folder: Path) -> list[Path]:
    return [p for sub in ("new", "cur") if (folder / sub).is_dir()
            for p in sorted((folder / sub).iterdir()) if p.is_file() and not p.name.startswith(".")]


def _message_id(path: Path) -> str | None:
    with path.open("rb") as f:
        value = BytesHeaderParser().parse(f)["Message-ID"]
    return str(value).strip().strip("<>") if value else None


def _inbound_id(path: Path) -> str:
    from tasks.replies.parsing import read_reply

    return read_reply(path.read_bytes()).inbound_id


def main() -> int:
    settings = load_settings()
    violations = check(settings)
    for violation in violations:
        print(violation)
    print(f"{len(violations)} 处违反 / violations — {settings.warehouse_path}", file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    sys.exit(main())
