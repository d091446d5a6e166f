"""Pulling new cases from every configured source: read → validate → land → archive."""

from __future__ import annotations

import contextlib
import shutil
from datetime import datetime

import httpx

from liandong.clock import local, naive_utc
from liandong.roster import Roster
from liandong.settings import Settings
from tasks.intake.loading import IntakeResult, load_batch
from tasks.intake.validation import Placement, validate_rows
from tasks.sources.drop_folder import DropFile, list_drop_files, read_drop_file
from tasks.sources.open311 import pull_open311
from warehouse.store import Warehouse


class ArchiveError(Exception):
    """A loaded export cannot be moved to the archive: the run fails loudly, nothing is lost."""


def pull_drop_folder(wh: Warehouse, settings: Settings, roster: Roster, as_of: datetime, run_id: str) -> list[IntakeResult]:
    placement = Placement(roster)
    results = []
    for drop in list_drop_files(settings.drop_folder):
        result = IntakeResult(drop.source, drop.path.name)
        name = loaded_name(wh, drop)
        if name is None:
            name = _name_for(wh, drop)
            rows = list(read_drop_file(drop, settings.intake.column_map, name))
            result.rows_read = len(rows)
            good, bad = validate_rows(rows, placement)
            file_record = {"sha256": drop.sha256, "source": drop.source, "file_name": name, "rows_read": len(rows)}
            load_batch(wh, good, bad, as_of, run_id, result, file_record=file_record)
        else:
            result.seen_before = True
        # A file seen before (same bytes) is only archived. The move comes after the commit: a crash
        # in between means the file is read again next run and adds nothing.
        archive = settings.archive_folder / local(as_of).strftime("%Y-%m-%d")
        try:
            archive.mkdir(parents=True, exist_ok=True)
            shutil.move(str(drop.path), archive / name)
        except OSError as exc:
            if drop.path.exists():  # a copy across file systems may have stopped half-way: not an archive
                with contextlib.suppress(OSError):
                    (archive / name).unlink(missing_ok=True)
            raise ArchiveError(
                f"{drop.path.name} 已入库，但无法归档到 {archive}（磁盘已满或文件夹不可写）；文件留在投放文件夹，下次运行只归档不重复入库 / "
                f"{drop.path.name} is loaded but cannot be archived to {archive} (disk full or not a writable "
                f"folder); it stays in the drop folder and the next run only archives it: {exc.strerror or exc}") from None
        results.append(result)
    return results


def loaded_name(wh: Warehouse, drop: DropFile) -> str | None:
    """The name under which these very bytes were loaded before, if they were."""
    return wh.scalar("SELECT file_name FROM source_files WHERE sha256 = ?", [drop.sha256])


def _name_for(wh: Warehouse, drop: DropFile) -> str:
    """The file's name, or `<stem>_<8 hex of its SHA-256><ext>` when another export was loaded
    under the same name (a corrected file re-sent as yesterday's): its rows' locations and its
    archived copy must not be taken for the first file's."""
    taken = wh.scalar("SELECT count(*) FROM source_files WHERE source = ? AND file_name = ?",
                      [drop.source, drop.path.name])
    return f"{drop.path.stem}_{drop.sha256[:8]}{drop.path.suffix}" if taken else drop.path.name


def pull_open311_sources(wh: Warehouse, settings: Settings, roster: Roster, as_of: datetime, run_id: str,
                         transport: httpx.BaseTransport | None = None) -> list[IntakeResult]:
    placement = Placement(roster)
    results = []
    for config in settings.intake.open311:
        source = f"open311:{config.name}"
        result = IntakeResult(source, config.base_url)
        watermark = wh.scalar("SELECT watermark FROM source_watermarks WHERE source = ?", [source])
        try:
            pull = pull_open311(config, watermark, as_of, settings.intake.column_map, transport)
        except (httpx.HTTPError, ValueError) as exc:
            # The source is asked again next run from the same watermark; the other sources go on.
            result.error = f"拉取失败，下次从同一水位重试 / pull failed, retried next run: {type(exc).__name__}: {exc}"
            results.append(result)
            continue
        result.rows_read = len(pull.rows)
        good, bad = validate_rows(pull.rows, placement)
        load_batch(wh, good, bad, as_of, run_id, result, watermark=(source, pull.watermark or naive_utc(as_of)))
        results.append(result)
    return results
