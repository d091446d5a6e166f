"""Hostile and broken input, with hypothesis and a fixed corpus: intake rows of any shape, the
dates hotline exports write, formulas that must stay text in the XLSX/CSV export, and case text
that tries template evaluation, header injection and scripts, followed through every email a
night sends and the agenda. (Replies: tests/test_replies_hostile.py.)"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import shutil
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.utils import getaddresses
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from liandong.invariants import check, check_warehouse
from liandong.resources import Resources
from liandong.roster import load_roster
from liandong.settings import Settings, load_settings
from tasks.intake.pull import pull_drop_folder
from tasks.intake.validation import parse_received_at
from tasks.report.exports import FORMULA_START, csv_safe, arrow_table, write_xlsx
from tasks.roster.sync import sync_roster
from tasks.sources.drop_folder.helpers import decode
from tests.support.crash_night import run_stages

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
FIXTURES = ROOT / "tests" / "fixtures"
AS_OF = datetime.fromisoformat("2026-11-21T02:00:00+08:00")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")

# Case text that tries everything at once: template syntax (evaluated it would read 6170),
# header injection, script, an HTML event handler and a spreadsheet formula.
TEMPLATE = "{{ 1234*5 }}{% for x in range(3) %}X{% endfor %}"
HOSTILE_TITLE = f'=HYPERLINK("http://evil.example","点我") {TEMPLATE}\r\nBcc: evil@attacker.example'
HOSTILE_TEXT = f"<script>alert(1)</script><img src=x onerror=alert(2)> {TEMPLATE}\r\nTo: evil2@attacker.example"

# ---------------------------------------------------------------------------------------------
# Intake rows of any shape: each is a case or in quarantine, with a bilingual reason.

COLUMNS = ["工单编号", "受理时间", "诉求标题", "诉求内容", "所属社区", "所属网格", "事发地址", "联系电话", "紧急程度",
           "反映人", "诉求类别", "无关列", ""]
DATES = ["2026-11-02 09:15:00", "2026/11/02 9:15", "2026年11月2日 09:15", "2026-11-02T09:15:00+08:00",
         "20261102091500", "2026-11-02 09:15", "2026.11.02 09:15", "2026-02-30 09:00", "昨天", "0", "99999999999999"]
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
values = st.one_of(
    text, st.none(), st.integers(), st.floats(allow_nan=True), st.booleans(), st.sampled_from(DATES),
    st.sampled_from(["星光社区", "东湖社区", "xingguang", "星光路1号", "13812345678", "=HYPERLINK(\"x\")", "紧急",
                     "\x00\x1b", "长" * (1 << 20)]),  # … and a 1 MB field
    st.lists(st.integers(), max_size=3), st.dictionaries(text, st.integers(), max_size=2),
)
rows = st.lists(st.dictionaries(st.sampled_from(COLUMNS), values, max_size=len(COLUMNS)), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def intake_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("hostile-intake")
    (home / "drop").mkdir()
    return load_settings(home=home, roster_path=FIXTURES / "roster.yaml")


def pull(settings: Settings) -> list:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        sync_roster(wh, resources.roster)
        return pull_drop_folder(wh, settings, resources.roster, AS_OF, "hostile")


_files = itertools.count(1)


# No shrinking: a failing example of megabyte rows takes minutes to shrink; the example is printed whole.
@hypothesis_settings(max_examples=40, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(records=rows, junk_lines=st.lists(st.sampled_from(["not json", "[1, 2]", "\"text\"", "{", ""]), max_size=2))
def test_intake_rows_of_any_shape_are_cases_or_quarantined(intake_home: Settings, records, junk_lines):
    n = next(_files)
    path = intake_home.drop_folder / f"2026-11-20_hostile{n}.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + junk_lines
    # Trailing blank lines (no rows) make each file's bytes unique: the same bytes are "seen before".
    path.write_text("\n".join(lines) + "\n" * n, encoding="utf-8")

    (result,) = pull(intake_home)

    assert result.rows_read == sum(1 for line in lines if line.strip())
    assert result.new_cases + result.quarantined + result.already_known == result.rows_read
    with Resources(intake_home).warehouse() as wh:
        # The SQL checks here; the archived files are all read again by the fixed-corpus test below.
        assert check_warehouse(wh) == [], "every row is a case or quarantined; the state agrees with the events"
        reasons = [r[0] for r in wh.execute("SELECT reason FROM quarantine WHERE location LIKE ?",
                                            [f"{path.name}%"]).fetchall()]
        texts = wh.execute("SELECT title, description, coalesce(address, ''), coalesce(reporter_phone, '') "
                           "FROM cases WHERE source = ?", ["drop:hostile"]).fetchall()
    assert all(re.search(r"[\u4e00-\u9fff]", r) and " / " in r and re.search(r"[a-z]{3}", r) for r in reasons), reasons
    assert not any(CONTROL.search(value) for row in texts for value in row), "no control characters, no CR/LF"
    assert all(len(title) <= 200 and len(description) <= 20_000 for title, description, *_ in texts)


def test_every_date_format_of_a_hotline_export_is_the_same_moment():
    expected = datetime(2026, 11, 2, 1, 15)  # 09:15 in Shanghai, as UTC
    for value in ["2026-11-02 09:15:00", "2026/11/02 9:15", "2026年11月2日 09:15", "2026年11月2日09时15分",
                  "2026-11-02T09:15:00+08:00", "2026-11-02T01:15:00Z", "20261102091500", 46328.38541666667,
                  datetime(2026, 11, 2, 9, 15), "2026-11-02 09:15"]:
        assert parse_received_at(value) == expected, value
    for value in ["2026-02-30 09:00", "昨天下午", "", "1899-12-31 00:00", "13/25/2026"]:
        with pytest.raises(ValueError):
            parse_received_at(value)


def test_a_fixed_corpus_of_broken_rows_through_the_drop_folder(intake_home: Settings):
    header = "工单编号,受理时间,诉求标题,诉求内容,所属社区,联系电话\r\n"
    lines = [
        ("F-1,2026-11-02 09:15,路灯不亮,星光路路灯坏了,星光社区,13812345678\r\n", "utf-8"),
        ("F-2,2026/11/02 9:15,噪音扰民,夜里KTV很吵,星光社区,13812345678\r\n", "gbk"),  # a GBK line in a UTF-8 file
        ("F-3,2026-11-02 09:15,乱码,", "utf-8"),
        ("F-4,2026-11-02 09:15,\"" + HOSTILE_TITLE.replace('"', '""') + "\",正文,星光社区,\r\n", "utf-8"),
        ("F-5,2026-11-02 09:15,很长,\"" + "长" * (1 << 20) + "\",星光社区,\r\n", "utf-8"),
        ("F-6,2026-11-02 09:15,控制\x07字符\x1b[31m,内容\x00,星光社区,\r\n", "utf-8"),
        ("F-7,2026-11-02 09:15,电话,内容,星光社区,138abc\r\n", "utf-8"),
        (",2026-11-02 09:15,没有编号,内容,星光社区,\r\n", "utf-8"),
        ("F-9,2026-11-02 09:15,,,星光社区,\r\n", "utf-8"),
    ]
    data = header.encode() + b"".join(line.encode(encoding) for line, encoding in lines[:2])
    data += lines[2][0].encode() + b"\xff\xfe\xfa\r\n"  # bytes that are neither UTF-8 nor GBK
    data += b"".join(line.encode(encoding) for line, encoding in lines[3:])
    path = intake_home.drop_folder / "2026-11-20_corpus.csv"
    path.write_bytes(data)

    (result,) = pull(intake_home)

    assert (result.rows_read, result.new_cases, result.quarantined) == (9, 4, 5)
    assert check(intake_home) == [], "every archived row (this file's and the property test's) is accounted for"
    with Resources(intake_home).warehouse() as wh:
        cases = dict(wh.execute("SELECT source_ref, title FROM cases WHERE source = 'drop:corpus'").fetchall())
        quarantined = dict(wh.execute("SELECT location, reason FROM quarantine WHERE source = 'drop:corpus'").fetchall())
    assert cases["F-2"] == "噪音扰民", "the GBK line is read as GBK"
    assert cases["F-4"].startswith("=HYPERLINK(") and TEMPLATE in cases["F-4"], "kept as text, as the resident wrote it"
    assert cases["F-6"] == "控制 字符 [31m", "control characters and CR/LF become blanks"
    assert "\r" not in cases["F-4"], "line breaks are normalised; headers drop them (the night test below)"
    reasons = " | ".join(quarantined.values())
    for chinese, english in (("编码无法识别", "unknown text encoding"), ("诉求内容过长", "20000"),
                             ("电话号码含非数字字符", "non-digit"), ("工单编号为空", "source_ref"),
                             ("都为空", "both title and description are empty")):
        assert chinese in reasons and english in reasons, (chinese, reasons)


# ---------------------------------------------------------------------------------------------
# Formulas stay text in the report's XLSX and CSV exports.

cell_text = st.one_of(
    st.builds(lambda start, rest: start + rest, st.sampled_from(["=", "+", "-", "@", "\t", " =", "＝"]),
              st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=40)),
    st.sampled_from(['=HYPERLINK("http://evil.example","点我")', "=1+1", "@SUM(A1:A2)", "+cmd|' /C calc'!A0",
                     "-2+3", "=cmd|'/c notepad'!'A1'", "'=already quoted"]),
)


@hypothesis_settings(max_examples=80, deadline=None)
@given(title=cell_text)
def test_a_formula_in_case_text_is_never_a_formula_in_the_exports(tmp_path_factory, title):
    folder = tmp_path_factory.mktemp("xlsx")
    path = write_xlsx({"cases": [{"case_id": "LD-2026-000001", "title": title}]}, folder / "report.xlsx", "zh-CN",
                      {"cases": "诉求"}, datetime(2026, 12, 31))
    sheet = load_workbook(path).worksheets[0]
    cell = sheet.cell(row=2, column=2)
    assert cell.data_type != "f" and cell.value == title  # (intake already turned CR into LF)
    if FORMULA_START.match(title):
        assert cell.quotePrefix, "Excel shows it as typed and never evaluates it"
    (exported,) = csv_safe(arrow_table([{"title": title}])).column("title").to_pylist()
    assert exported == ("'" + title if FORMULA_START.match(title) else title)


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.dangers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "img", "iframe", "object", "embed"):
            self.dangers.append(tag)
        self.dangers += [f"{tag}@{name}" for name, _ in attrs if name.startswith("on")]


def html_dangers(document: str) -> list[str]:
    """Elements and event handlers a browser would run (escaped text is not one of them)."""
    parser = _Elements()
    parser.feed(document)
    return parser.dangers


# ---------------------------------------------------------------------------------------------
# Case text through a whole night: every email is built from it, none may evaluate, inject or script.

def hostile_export(target: Path) -> int:
    """The demo's hotline export with hostile text in every title and description, as UTF-8."""
    text, _ = decode((DEMO / "cases" / "2026-11-02_12345热线.csv").read_bytes())
    records = list(csv.reader(io.StringIO(text)))
    header, body = records[0], records[1:]
    title, description = header.index("诉求标题"), header.index("诉求内容")
    for record in body:
        record[title] = f"{record[title]} {HOSTILE_TITLE}"
        record[description] = f"{record[description]} {HOSTILE_TEXT}"
    out = io.StringIO()
    csv.writer(out).writerows([header, *body])
    target.write_text(out.getvalue(), encoding="utf-8")
    return len(body)


@pytest.fixture(scope="module")
def hostile_night(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("hostile-night")
    (home / "drop").mkdir()
    settings = load_settings(home=home, roster_path=DEMO / "roster.yaml")
    hostile_export(settings.drop_folder / "2026-11-02_12345热线.csv")
    run_stages(settings, AS_OF, "hostile-1")
    run_stages(settings, AS_OF + timedelta(days=12), "hostile-2")  # deadlines come and go: the chase mail
    return settings


def outbox(settings: Settings) -> list:
    return [message_from_bytes(p.read_bytes(), policy=policy.default)
            for sub in ("new", "cur") for p in sorted((settings.outbox_folder / sub).glob("*"))]


def test_hostile_case_text_in_every_email_is_shown_never_run(hostile_night: Settings):
    messages = outbox(hostile_night)
    roster = load_roster(hostile_night.roster_path)
    known = {c.email for u in roster.units for c in u.contacts} | {
        p.email for c in roster.communities for p in (c.coordinator, c.supervisor) if p} | {
        g.worker.email for c in roster.communities for g in c.grids if g.worker}
    purposes = {m["X-Liandong-Purpose"] or m["Subject"].split("]")[0] for m in messages}
    assert len(messages) >= 10 and len(purposes) >= 3, purposes
    for message in messages:
        names = [k.lower() for k in message.keys()]
        assert "bcc" not in names and names.count("to") == 1 and names.count("subject") == 1
        recipients = {a for _, a in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))}
        assert recipients <= known and "attacker.example" not in str(recipients), recipients
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
        for part in message.walk():
            if part.get_content_maintype() != "text":
                continue
            content = part.get_content()
            assert "6170" not in content and "XXX" not in content, "template syntax evaluated"
            if part.get_content_subtype() == "html":
                assert html_dangers(content) == [], message["Subject"]
    bodies = " ".join(p.get_content() for m in messages for p in m.walk() if p.get_content_maintype() == "text")
    assert "{{ 1234*5 }}" in bodies or "{{ 1234*5 }}".replace("{", "&#123;") in bodies
    assert "&lt;script&gt;" in bodies


def test_hostile_case_text_in_the_agenda_is_escaped(hostile_night: Settings):
    from tasks.meetings.agenda import load_agenda
    from tasks.meetings.convene import convene
    from tasks.meetings.render import MeetingDocuments
    from tests.test_meetings_agenda import MEETING, MEETINGS, Scene
    from tests.test_meetings_agenda import AS_OF as AGENDA_AS_OF

    settings = load_settings(home=hostile_night.home.parent / "agenda", roster_path=FIXTURES / "roster.yaml")
    resources = Resources(settings)
    with resources.warehouse() as wh:
        sync_roster(wh, resources.roster)
        Scene(wh).declined_by_all(title=HOSTILE_TITLE.replace("\r\n", " "), description=HOSTILE_TEXT)
        convene(wh, resources.roster, resources.calendar, MEETINGS, "xingguang", "regular", MEETING, AGENDA_AS_OF)
        agenda = load_agenda(wh, resources.roster, "xingguang-2026-11", AGENDA_AS_OF)
    for locale in ("zh-CN", "en"):
        rendered = MeetingDocuments().agenda(agenda, locale)
        assert html_dangers(rendered.html) == []
        assert "&lt;script&gt;" in rendered.html or "=HYPERLINK" in rendered.html
        for document in (rendered.html, rendered.text, rendered.markdown):
            assert "6170" not in document
    shutil.rmtree(settings.home, ignore_errors=True)


def test_an_export_sent_again_under_the_same_name_with_other_rows_loses_none(intake_home: Settings):
    """Hotlines re-send a corrected export under yesterday's name: its bad rows sit on the same
    lines as the first file's, and must be quarantined too, not taken for the first file's."""
    name = "2026-11-20_resend.csv"
    header = "工单编号,受理时间,诉求标题,诉求内容,所属社区\r\n"
    first = header + "R-1,2026-11-02 09:15,路灯不亮,灯坏了,星光社区\r\nR-2,不是日期,噪音,很吵,星光社区\r\n"
    second = header + "R-1,2026-11-02 09:15,路灯不亮,灯坏了,星光社区\r\nR-3,也不是日期,井盖,丢了,星光社区\r\n"
    for text in (first, second):
        (intake_home.drop_folder / name).write_text(text, encoding="utf-8")
        pull(intake_home)
    assert check(intake_home) == []
    with Resources(intake_home).warehouse() as wh:
        raws = [r[0] for r in wh.execute("SELECT raw FROM quarantine WHERE source = 'drop:resend'").fetchall()]
    assert len(raws) == 2 and any("R-2" in r for r in raws) and any("R-3" in r for r in raws)
