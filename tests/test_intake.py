"""Intake from the drop folder: formats, encodings, validation, quarantine, idempotent re-pulls."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.intake.pull import pull_drop_folder
from tasks.roster.sync import sync_roster

AS_OF = datetime.fromisoformat("2026-11-21T02:00:00+08:00")
HEADERS = ["工单编号", "受理时间", "诉求标题", "诉求内容", "诉求类别", "紧急程度", "所属社区", "所属网格",
           "事发地址", "反映人", "联系电话", "来源渠道"]


def row(ref, when="2026-11-20 09:15:00", title="KTV噪音扰民", text="楼下KTV每晚唱到凌晨两点，噪音很大。",
        community="星光社区", address="星光路12号", phone="13812345678", **extra):
    values = {"工单编号": ref, "受理时间": when, "诉求标题": title, "诉求内容": text, "诉求类别": "",
              "紧急程度": "", "所属社区": community, "所属网格": "", "事发地址": address, "反映人": "王大妈",
              "联系电话": phone, "来源渠道": "12345热线"}
    values.update(extra)
    return values


def write_csv(path: Path, rows: list[dict], encoding: str) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADERS)
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def pull(settings: Settings):
    resources = Resources(settings)
    with resources.warehouse() as wh:
        sync_roster(wh, resources.roster)
        results = pull_drop_folder(wh, settings, resources.roster, AS_OF, "run-1")
        cases = wh.rows("SELECT * FROM cases ORDER BY case_id")
        quarantine = wh.rows("SELECT * FROM quarantine ORDER BY quarantine_id")
    return results, cases, quarantine


def test_gbk_csv_lands_with_chinese_text_and_utc_times(settings: Settings):
    write_csv(settings.drop_folder / "2026-11-20_12345热线.csv", [row("RX1"), row("RX2", address="文化街3号")], "gbk")
    results, cases, quarantine = pull(settings)
    assert [r.new_cases for r in results] == [2]
    assert quarantine == []
    first = cases[0]
    assert first["case_id"] == "LD-2026-000001"
    assert first["source"] == "drop:12345热线" and first["source_ref"] == "RX1"
    assert first["title"] == "KTV噪音扰民" and "凌晨两点" in first["description"]
    assert first["received_at"] == datetime(2026, 11, 20, 1, 15)  # 09:15 in Shanghai is 01:15 UTC
    assert (first["community_id"], first["grid_id"]) == ("xingguang", "xg-01")
    assert cases[1]["grid_id"] == "xg-02"  # placed by the address→grid table
    assert first["status"] == "new"


def test_utf8_with_bom_and_date_formats_of_hotline_exports(settings: Settings):
    formats = ["2026/11/20 9:15", "2026年11月20日 09:15", "2026-11-20T09:15:00+08:00", "20261120091500",
               "2026.11.20 09:15:00"]
    write_csv(settings.drop_folder / "grid.csv", [row(f"G{i}", when=w) for i, w in enumerate(formats)], "utf-8-sig")
    _, cases, quarantine = pull(settings)
    assert quarantine == []
    assert {c["received_at"] for c in cases} == {datetime(2026, 11, 20, 1, 15)}


def test_xlsx_with_real_datetime_cells_and_text_dates(settings: Settings):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    sheet.append(list(row("X1", when=datetime(2026, 11, 19, 14, 30)).values()))
    sheet.append(list(row("X2", when="2026-11-19 14:30", phone=13912345678).values()))
    book.save(settings.drop_folder / "2026-11-19_网格平台.xlsx")
    results, cases, quarantine = pull(settings)
    assert quarantine == [] and results[0].source == "drop:网格平台"
    assert [c["received_at"] for c in cases] == [datetime(2026, 11, 19, 6, 30)] * 2
    assert cases[1]["reporter_phone"] == "13912345678"  # a number cell, not 1.39e10


def test_jsonl_bad_lines_are_quarantined_and_the_rest_lands(settings: Settings):
    lines = [json.dumps(row("J1"), ensure_ascii=False), "{not json", json.dumps([1, 2]),
             json.dumps(row("J2"), ensure_ascii=False)]
    (settings.drop_folder / "2026-11-20_城市放大镜.jsonl").write_text("\n".join(lines), encoding="utf-8")
    results, cases, quarantine = pull(settings)
    assert [c["source_ref"] for c in cases] == ["J1", "J2"]
    assert [q["location"] for q in quarantine] == ["2026-11-20_城市放大镜.jsonl:2", "2026-11-20_城市放大镜.jsonl:3"]
    assert "不是有效的 JSON / not valid JSON" in quarantine[0]["reason"]
    assert "JSON 对象 / each line must be a JSON object" in quarantine[1]["reason"]
    assert results[0].quarantined == 2 and results[0].new_cases == 2


def test_invalid_rows_go_to_quarantine_with_bilingual_reasons(settings: Settings):
    bad = [
        row("B1", title="", text=""),
        row("B2", when="昨天下午"),
        row("B3", when="2026-13-45 10:00"),
        row("B4", phone="138abc45678"),
        row("B5", community="火星社区", address="不存在路1号"),
        row("", title="没有编号"),
        row("B7", text="x" * 30_000),
        row("B8", 紧急程度="十万火急"),
    ]
    write_csv(settings.drop_folder / "bad.csv", [row("OK1"), *bad], "utf-8")
    results, cases, quarantine = pull(settings)
    assert [c["source_ref"] for c in cases] == ["OK1"]
    reasons = {json.loads(q["raw"])["工单编号"]: q["reason"] for q in quarantine}
    assert len(quarantine) == len(bad) == results[0].quarantined
    assert "诉求标题和诉求内容都为空 / both title and description are empty" == reasons["B1"]
    assert "受理时间" in reasons["B2"] and "unrecognised date" in reasons["B2"]
    assert "no such date" in reasons["B3"]
    assert "联系电话" in reasons["B4"] and "non-digit" in reasons["B4"]
    assert "火星社区" in reasons["B5"] and "not in the roster" in reasons["B5"]
    assert "工单编号" in reasons[""] and "source_ref" in reasons[""]
    assert "过长" in reasons["B7"] and "description" in reasons["B7"]
    assert "unknown urgency" in reasons["B8"]
    # The raw row is kept whole, so nothing the source sent is lost.
    assert json.loads(quarantine[0]["raw"])["联系电话"] == "13812345678"


def test_control_characters_are_stripped_from_text(settings: Settings):
    write_csv(settings.drop_folder / "ctl.csv", [row("C1", title="噪音\r\nBcc: evil@example.com\x00")], "utf-8")
    _, cases, _ = pull(settings)
    assert "\r" not in cases[0]["title"] and "\x00" not in cases[0]["title"]


def test_repull_same_file_and_reexport_add_nothing_and_archive_after_commit(settings: Settings):
    rows = [row("R1"), row("R2"), row("R3", when="bad date")]
    write_csv(settings.drop_folder / "2026-11-02_12345热线.csv", rows, "gbk")
    first, cases, quarantine = pull(settings)
    assert first[0].new_cases == 2 and len(quarantine) == 1
    archived = settings.archive_folder / "2026-11-21" / "2026-11-02_12345热线.csv"
    assert archived.is_file() and not (settings.drop_folder / "2026-11-02_12345热线.csv").exists()

    # The very same file dropped again: recognised by its bytes, archived, nothing added.
    (settings.drop_folder / "2026-11-02_12345热线.csv").write_bytes(archived.read_bytes())
    again, cases2, quarantine2 = pull(settings)
    assert again[0].seen_before and again[0].new_cases == 0
    # A re-export under another name: same source, same 工单编号 → already known.
    write_csv(settings.drop_folder / "2026-11-09_12345热线_重发.csv", rows[:2], "utf-8")
    third, cases3, _ = pull(settings)
    assert third[0].already_known == 2 and third[0].new_cases == 0
    assert len(cases3) == len(cases) == 2 and len(quarantine2) == 1


def test_unreadable_file_is_one_quarantine_row_and_others_go_on(settings: Settings):
    (settings.drop_folder / "a_broken.xlsx").write_bytes(b"this is not a workbook")
    write_csv(settings.drop_folder / "b_good.csv", [row("G1")], "utf-8")
    results, cases, quarantine = pull(settings)
    assert len(cases) == 1 and len(quarantine) == 1
    assert "file cannot be read" in quarantine[0]["reason"]
