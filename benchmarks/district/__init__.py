"""A synthetic district for the nightly benchmark, deterministic from a seed.

    .venv/bin/python -m benchmarks.district OUT [--seed 7] [--cases 100000] [--new-cases 20000]
                                                [--replies 5000] [--communities 50] [--units 500]

writes under OUT: `roster.yaml` (communities with four grids each, member units with one to
three contacts), and a Liandong home `home/` with the night's exports in `home/drop/` (CSV,
GBK CSV, XLSX, JSON Lines), the replies waiting in `home/inbox/` (a Maildir) and the warehouse
`home/warehouse.duckdb` holding the open cases in every state (see cases.py). Tonight is
`AS_OF`, a Tuesday just before the National Day holidays, so deadlines cross holidays.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from liandong.roster import load_roster
from liandong.workdays import ChineseWorkCalendar
from warehouse.store import open_warehouse

AS_OF = datetime.fromisoformat("2026-09-29T02:00:00+08:00")
REPLY_SECRET = "district-benchmark-secret"
REPLY_DOMAIN = "community.example.cn"


@dataclass(frozen=True)
class Sizes:
    communities: int = 50
    units: int = 500
    cases: int = 100_000
    new_cases: int = 20_000
    replies: int = 5_000


@dataclass(frozen=True)
class District:
    root: Path
    roster_path: Path
    home: Path
    as_of: datetime
    reply_secret: str
    manifest: dict

    @property
    def environment(self) -> dict[str, str]:
        """The LIANDONG_* variables an operator would set for this district."""
        return {"LIANDONG_HOME": str(self.home), "LIANDONG_ROSTER_PATH": str(self.roster_path),
                "LIANDONG_SETTINGS_FILE": str(self.root / "no-settings-file.yaml"),
                "LIANDONG_MAIL__REPLY_SECRET": self.reply_secret, "LIANDONG_MAIL__REPLY_DOMAIN": REPLY_DOMAIN}


def generate_district(root: Path, sizes: Sizes = Sizes(), seed: int = 7, as_of: datetime = AS_OF) -> District:
    from benchmarks.district.cases import build_cases
    from benchmarks.district.drops import write_drop_files
    from benchmarks.district.replies import write_replies
    from benchmarks.district.roster import build_roster, write_roster

    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    home = root / "home"
    roster_data = build_roster(sizes.communities, sizes.units, seed)
    roster_path = root / "roster.yaml"
    write_roster(roster_path, roster_data)
    roster = load_roster(roster_path)
    with open_warehouse(home / "warehouse.duckdb") as wh:
        existing = build_cases(wh, roster, ChineseWorkCalendar(), as_of, sizes.cases, seed, REPLY_DOMAIN)
    drops = write_drop_files(home / "drop", roster_data, sizes.new_cases, as_of, seed)
    replies = write_replies(home / "inbox", existing, sizes.replies, seed, REPLY_SECRET, REPLY_DOMAIN, REPLY_DOMAIN)
    manifest = {
        "seed": seed, "as_of": as_of.isoformat(), "sizes": sizes.__dict__,
        "contacts": sum(len(u.contacts) for u in roster.units), "grids": sum(len(c.grids) for c in roster.communities),
        "warehouse_rows": existing.counts, "drop_files": drops, "replies": replies,
        "generate_seconds": round(time.perf_counter() - started, 1),
    }
    (root / "district.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return District(root, roster_path, home, as_of, REPLY_SECRET, manifest)
