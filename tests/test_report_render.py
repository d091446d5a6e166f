"""The quarterly report as files: the HTML opens offline in headless Chromium with Chinese chart
labels, residents' data never appears, case text is escaped, the exports neutralise formulas.

The Chromium screenshot is kept as a test artifact: its path is printed (`-s` shows it), and it
is copied to $LIANDONG_TEST_ARTIFACTS when that is set."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import zipfile
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest
from PIL import Image

from liandong.roster import load_roster
from tasks.report import charts
from tasks.report.files import ReportFiles, write_report
from tasks.report.kpis import QuarterlyKpis, compute_kpis
from tasks.report.render import render_html, report_view
from tests.conftest import FIXTURES
from tests.test_report_kpis import CALENDAR, OPTIONS, Q4, build_fixture
from warehouse.store import open_warehouse

ROOT = Path(__file__).resolve().parent.parent
GENERATED = datetime.fromisoformat("2027-01-01T06:00:00+08:00")
ROSTER = load_roster(FIXTURES / "roster.yaml")
RESIDENT_DATA = ("王小明", "13987654321", "13812345678", "13800001111")


@pytest.fixture(scope="module")
def kpis(tmp_path_factory) -> QuarterlyKpis:
    with open_warehouse(tmp_path_factory.mktemp("report") / "report.duckdb") as wh:
        build_fixture(wh)
        return compute_kpis(wh, CALENDAR, Q4, None, OPTIONS)


@pytest.fixture(scope="module")
def files(kpis, tmp_path_factory) -> ReportFiles:
    return write_report(kpis, ROSTER, OPTIONS, tmp_path_factory.mktemp("files") / "2026-Q4", "zh-CN", GENERATED)


def chromium() -> str:
    if not Path("/usr/bin/chromium").exists():
        subprocess.run([str(ROOT / "scripts" / "system_deps.sh"), "chromium", "fonts-noto-cjk"], check=True)
    return "/usr/bin/chromium"


def headless(*args: str, profile: Path) -> subprocess.CompletedProcess:
    # --allow-file-access-from-files is not given: the page must need nothing beyond itself.
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                           f"--user-data-dir={profile}", *args], check=True, timeout=120, capture_output=True,
                          text=True)


def test_report_opens_in_headless_chromium_with_chinese_chart_labels(files, tmp_path):
    page = files.html["zh-CN"].as_uri()
    shot = tmp_path / "quarterly-report.zh-CN.png"
    headless("--window-size=1200,2200", f"--screenshot={shot}", page, profile=tmp_path / "profile1")
    print(f"\nscreenshot of the quarterly report: {shot}")
    if keep := os.environ.get("LIANDONG_TEST_ARTIFACTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2200)
    colours = image.getcolors(maxcolors=1 << 20)
    assert len(colours) > 500  # text, tables and charts, not a blank or error page
    # The header rule and the chart bars are the report's red (#b91c1c).
    assert any(abs(r - 0xB9) < 12 and abs(g - 0x1C) < 12 and abs(b - 0x1C) < 12 for _, (r, g, b) in colours)

    dom = headless("--dump-dom", page, profile=tmp_path / "profile2").stdout
    assert "联动季度报告" in dom and "红黄榜" in dom and "星光派出所" in dom
    svgs = re.findall(r"<svg.*?</svg>", dom, flags=re.S)
    assert len(svgs) == 4
    for svg in svgs:
        labels = re.findall(r"<!-- (.*?) -->", svg)
        assert any(re.search(r"[\u4e00-\u9fff]", label) for label in labels), labels[:5]
        assert "NotoSansCJKsc" in svg  # the Chinese glyphs are drawn from Noto Sans CJK SC, as paths
    assert "<!-- 主要指标趋势 -->" in dom and "<!-- 各单位按期办结率 -->" in dom


def test_charts_draw_chinese_without_missing_glyphs(recwarn):
    svg = charts.rate_bars("各类别按期办结率", ["噪音扰民", "为老服务"], [0.75, None])
    assert not [w for w in recwarn if "missing from font" in str(w.message)]
    assert "<!-- 噪音扰民 -->" in svg and "NotoSansCJKsc-Regular" in svg
    assert svg == charts.rate_bars("各类别按期办结率", ["噪音扰民", "为老服务"], [0.75, None])  # deterministic


def test_report_needs_nothing_from_outside(files):
    for html in files.html.values():
        text = html.read_text(encoding="utf-8")
        assert "<script" not in text and "<link" not in text and "@import" not in text
        assert not re.search(r"url\((?!#)", text)  # the SVG's clip paths point inside the page only
        # Only the XML namespaces of the inline SVG name a web address.
        addresses = set(re.findall(r'"(https?://[^"]+)"', text))
        assert addresses <= {"http://www.w3.org/1999/xlink", "http://www.w3.org/2000/svg",
                             "http://purl.org/dc/elements/1.1/", "http://creativecommons.org/ns#",
                             "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://purl.org/dc/dcmitype/StillImage"}


def test_english_report_and_markdown_artifact(files):
    en = files.html["en"].read_text(encoding="utf-8")
    assert "Liandong quarterly report · Q4 2026" in en and "Xingguang Police Station" in en
    assert "Response rate" in en and "<!-- Main rates by quarter -->" in en
    assert "| 响应率 | 57.1% | -42.9 个百分点 |" in files.markdown
    assert "**红榜**：星光派出所" in files.markdown and "**黄榜**：生态环境分局" in files.markdown


def test_no_resident_data_anywhere(files):
    texts = [p.read_text(encoding="utf-8") for p in [*files.html.values(), *files.exports.csv]] + [files.markdown]
    with zipfile.ZipFile(files.exports.xlsx) as book:
        texts += [book.read(name).decode() for name in book.namelist() if name.endswith(".xml")]
    for text in texts:
        assert not [d for d in RESIDENT_DATA if d in text]
    assert "独居老人王**家无人照料，电话139****4321" in files.html["zh-CN"].read_text(encoding="utf-8")


def test_case_text_is_escaped_in_the_html(kpis):
    hostile = {**kpis.notable[0], "title": "<script>alert(1)</script><img src=x onerror=alert(2)>"}
    view = report_view(QuarterlyKpis(**{**kpis.__dict__, "notable": [hostile]}), ROSTER, OPTIONS, "zh-CN", GENERATED)
    html = render_html(view)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script" not in html and "<img" not in html


def test_rotating_chair_term_of_the_quarter(kpis):
    view = report_view(kpis, ROSTER, OPTIONS, "zh-CN", GENERATED)
    assert view["chairs"] == [{"community": "星光社区", "unit": "星光派出所", "starts": date(2026, 10, 1),
                               "ends": date(2026, 12, 31), "meetings_chaired": 1}]  # 东湖 has no rotation


def test_same_quarter_renders_the_same_bytes(kpis, files):
    again = render_html(report_view(kpis, ROSTER, OPTIONS, "zh-CN", GENERATED))
    assert again == files.html["zh-CN"].read_text(encoding="utf-8")


def test_exports_csv_parquet_xlsx_with_formulas_neutralised(kpis, tmp_path):
    hostile = {**kpis.notable[0], "title": "=HYPERLINK(\"http://evil.example\",\"点我\")"}
    minus = {**kpis.notable[1], "title": "-2+3"}
    files = write_report(QuarterlyKpis(**{**kpis.__dict__, "notable": [hostile, minus]}), ROSTER, OPTIONS,
                         tmp_path / "2026-Q4", "zh-CN", GENERATED)
    notable_csv = next(p for p in files.exports.csv if p.name == "notable.csv").read_bytes()
    assert notable_csv.startswith(b"\xef\xbb\xbf")  # Excel on Chinese Windows reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(notable_csv.decode("utf-8-sig"))))
    assert [r["title"] for r in rows] == ["'=HYPERLINK(\"http://evil.example\",\"点我\")", "'-2+3"]

    parquet = next(p for p in files.exports.parquet if p.name == "notable.parquet")
    assert duckdb.sql(f"SELECT title FROM '{parquet}'").fetchall() == [(hostile["title"],), ("-2+3",)]
    kpis_parquet = next(p for p in files.exports.parquet if p.name == "kpis.parquet")
    assert duckdb.sql(f"SELECT received FROM '{kpis_parquet}' WHERE quarter = '2026-Q4' "
                      "AND dimension = 'all'").fetchall() == [(9,)]

    book = openpyxl.load_workbook(files.exports.xlsx)
    assert book.sheetnames == ["指标", "单位记分卡", "联席会议", "重点案件", "双向评价"]
    sheet = book["重点案件"]
    header = [c.value for c in sheet[1]]
    title = sheet.cell(row=2, column=header.index("标题") + 1)
    assert title.value == hostile["title"] and title.data_type == "s" and title.quotePrefix
    assert sheet.cell(row=3, column=header.index("标题") + 1).quotePrefix
    card = book["单位记分卡"]
    header = [c.value for c in card[1]]
    assert card.cell(row=2, column=header.index("名称") + 1).value == "星光派出所"
    rate = card.cell(row=2, column=header.index("按期办结率") + 1)
    assert rate.value == 1.0 and rate.number_format == "0.0%"
