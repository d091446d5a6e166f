"""Intake benchmark (not a timed test): N generated hotline rows in one CSV → the warehouse.

Reads, validates with pydantic, places, lands through Arrow and triages, exactly as the nightly
flow's intake and triage stages do, on a DuckDB file. Prints rows/s per stage and peak RSS, and
beside them the limit: DuckDB loading the same rows straight from an Arrow table.

    .venv/bin/python benchmarks/bench_intake.py --rows 100000
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liandong.roster import load_roster  # noqa: E402
from liandong.settings import load_settings  # noqa: E402
from tasks.intake.pull import pull_drop_folder  # noqa: E402
from tasks.roster.sync import sync_roster  # noqa: E402
from tasks.triage.new_cases import triage_new_cases  # noqa: E402
from warehouse.store import open_warehouse  # noqa: E402

PROBLEMS = ["小区门口建筑垃圾堆积", "楼下KTV夜间噪音扰民", "路灯坏了晚上很黑", "井盖缺失有安全隐患", "楼道堆放杂物电动车充电",
            "外墙瓷砖脱落", "树枝压着电线", "占道经营", "电梯经常故障", "流浪狗伤人"]
HEADERS = ["工单编号", "受理时间", "诉求标题", "诉求内容", "诉求类别", "紧急程度", "所属社区", "所属网格", "事发地址",
           "反映人", "联系电话", "来源渠道"]


def generate(path: Path, rows: int, roster, seed: int = 7) -> None:
    rng = random.Random(seed)
    grids = [(c.name, g.addresses[0]) for c in roster.communities for g in c.grids if g.addresses]
    start = datetime(2026, 11, 1, 8)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        for i in range(rows):
            community, street = rng.choice(grids)
            problem = rng.choice(PROBLEMS)
            when = start + timedelta(minutes=rng.randrange(60 * 24 * 20))
            w.writerow([f"RX{i:08d}", when.strftime("%Y-%m-%d %H:%M:%S"), problem,
                        f"居民反映{street}{rng.randrange(1, 300)}号附近{problem}，请尽快处理。", "", "", community, "",
                        f"{street}{rng.randrange(1, 300)}号", "居民", f"13{rng.randrange(10**9):09d}", "12345热线"])


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    roster = load_roster(ROOT / "demo" / "roster.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        settings = load_settings(home=home, roster_path=ROOT / "demo" / "roster.yaml")
        settings.drop_folder.mkdir(parents=True)
        generate(settings.drop_folder / "2026-11-21_12345热线.csv", args.rows, roster)
        as_of = datetime.fromisoformat("2026-11-22T02:00:00+08:00")
        with open_warehouse(settings.warehouse_path) as wh:
            sync_roster(wh, roster)
            t0 = time.perf_counter()
            [result] = pull_drop_folder(wh, settings, roster, as_of, "bench")
            t1 = time.perf_counter()
            triage = triage_new_cases(wh, roster, as_of, "bench")
            t2 = time.perf_counter()
            # The limit: the same case rows straight from an Arrow table into an empty copy of the table.
            table = wh.execute("SELECT * FROM cases").to_arrow_table()
            wh.execute("CREATE TABLE limit_cases AS SELECT * FROM cases LIMIT 0")
            t3 = time.perf_counter()
            wh.con.register("limit_rows", table)
            wh.execute("INSERT INTO limit_cases SELECT * FROM limit_rows")
            t4 = time.perf_counter()
    assert result.new_cases == args.rows, result
    figures = {
        "rows": args.rows, "intake_seconds": round(t1 - t0, 3), "intake_rows_per_s": round(args.rows / (t1 - t0)),
        "triage_seconds": round(t2 - t1, 3), "triage_rows_per_s": round(args.rows / (t2 - t1)),
        "intake_plus_triage_seconds": round(t2 - t0, 3),
        "limit_arrow_insert_seconds": round(t4 - t3, 3),
        "ratio_intake_to_limit": round((t4 - t3) / (t1 - t0), 4),
        "peak_rss_mib": round(peak_rss_mib()), "triaged": triage.triaged, "duplicates": triage.duplicates,
        "target": "≤ 5 s for 100,000 rows (intake + triage)",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "intake.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    for key, value in figures.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
