"""The night's new cases as the platforms export them into the drop folder: the 12345 hotline's
CSV (UTF-8 with BOM), the grid platform's CSV (GBK) and XLSX, and the city app's JSON Lines.

Rows name a grid street of the district (the community column is filled on two rows in three),
a problem built from a category's keywords (some urgent, some out of scope, some on the claim
list's categories), and a few repeat an earlier row's address and category (likely duplicates).
A few rows carry a date that does not exist, for the quarantine.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from benchmarks.bench_intake import HEADERS
from liandong.clock import SHANGHAI

# (file name, share of the rows, format, encoding, channel)
FILES = [
    ("{day}_12345热线.csv", 0.35, "csv", "utf-8-sig", "12345热线"),
    ("{day}_网格平台_夜班.csv", 0.15, "csv", "gb18030", "网格平台"),
    ("{day}_网格平台.xlsx", 0.20, "xlsx", None, "网格平台"),
    ("{day}_城市放大镜.jsonl", 0.30, "jsonl", "utf-8", "城市放大镜"),
]


def night_rows(roster_data: dict[str, Any], count: int, as_of: datetime, seed: int) -> list[list[str]]:
    rng = random.Random(seed * 7919 + 2)
    grids = [(c["name"], g["addresses"]) for c in roster_data["communities"] for g in c["grids"]]
    categories = roster_data["categories"]
    triage = roster_data["triage"]
    out_of_scope = [k for rule in triage["out_of_scope"] for k in rule["keywords"]]
    start = as_of.astimezone(SHANGHAI).replace(tzinfo=None) - timedelta(hours=24)
    rows: list[list[str]] = []
    for i in range(count):
        community, addresses = rng.choice(grids)
        address = f"{rng.choice(addresses)}{rng.randint(1, 300)}号"
        category = rng.choice(categories)
        keyword = rng.choice(category["keywords"])
        title = f"{address}{keyword}问题"
        extra = ""
        draw = rng.random()
        if draw < 0.02:
            extra = rng.choice(triage["urgent_keywords"])
        elif draw < 0.10:
            extra = rng.choice(triage["high_keywords"])
        elif draw < 0.105:
            extra = rng.choice(out_of_scope)
        if i > 100 and rng.random() < 0.02:  # the same problem reported again
            title, address = rows[rng.randrange(len(rows))][2], rows[-1][8]
        when = start + timedelta(seconds=rng.randrange(24 * 3600))
        stamp = when.strftime("%Y-%m-%d %H:%M:%S") if rng.random() > 0.003 else "2026-02-30 10:00:00"
        rows.append([
            f"N{seed}-{i:07d}", stamp, title,
            f"居民反映{address}附近{keyword}，{extra}已经持续一段时间，请相关部门尽快处理并回复。",
            "", "", community if rng.random() < 0.67 else "", "", address, rng.choice("王李张刘陈杨黄赵") + "先生",
            f"1{rng.choice('35789')}{rng.randrange(10**9):09d}", "",
        ])
    return rows


def write_drop_files(folder: Path, roster_data: dict[str, Any], count: int, as_of: datetime,
                     seed: int) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    rows = night_rows(roster_data, count, as_of, seed)
    day = (as_of.astimezone(SHANGHAI) - timedelta(days=1)).strftime("%Y-%m-%d")
    written: dict[str, int] = {}
    start = 0
    for n, (pattern, share, fmt, encoding, channel) in enumerate(FILES):
        end = count if n == len(FILES) - 1 else start + round(count * share)
        part = [row[:-1] + [channel] for row in rows[start:end]]
        path = folder / pattern.format(day=day)
        if fmt == "csv":
            with path.open("w", encoding=encoding, newline="") as f:
                writer = csv.writer(f)
                writer.writerow(HEADERS)
                writer.writerows(part)
        elif fmt == "jsonl":
            with path.open("w", encoding=encoding) as f:
                for row in part:
                    f.write(json.dumps(dict(zip(HEADERS, row)), ensure_ascii=False) + "\n")
        else:
            book = Workbook(write_only=True)
            sheet = book.create_sheet("工单")
            sheet.append(HEADERS)
            for row in part:
                sheet.append(row)
            book.save(path)
        written[path.name] = len(part)
        start = end
    return written
