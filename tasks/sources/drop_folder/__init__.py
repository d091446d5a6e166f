"""Drop folder of exports (CSV, XLSX, JSON Lines) from the hotline and grid platforms.

File names say the source: `YYYY-MM-DD_<source>[_note].<ext>` → source `drop:<source>`, so a
re-export of yesterday's file is recognised as the same source and adds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import RawRow, map_columns
from .helpers import READERS, source_name
from .settings import EXTENSIONS


@dataclass(slots=True)
class DropFile:
    path: Path
    source: str
    sha256: str


def list_drop_files(folder: Path) -> list[DropFile]:
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)
    return [DropFile(p, source_name(p), hashlib.sha256(p.read_bytes()).hexdigest()) for p in files]


def read_drop_file(drop: DropFile, column_map: dict[str, str], name: str | None = None) -> Iterator[RawRow]:
    """Rows located as `<name>:<line>`; `name` is the file's name unless the intake gave it another
    (a different export sent under a name already loaded, see tasks/intake/pull.py)."""
    reader = READERS[drop.path.suffix.lower()]
    name = name or drop.path.name
    try:
        for line_no, record, error in reader(drop.path):
            record = record or {}
            yield RawRow(drop.source, f"{name}:{line_no}", map_columns(record, column_map), record, error)
    except Exception as exc:  # an unreadable file is one quarantine row, not a failed run
        yield RawRow(drop.source, name, {}, {"file": name},
                     f"文件无法读取 / file cannot be read: {type(exc).__name__}: {exc}")
