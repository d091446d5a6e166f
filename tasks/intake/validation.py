"""Validating intake rows in bulk with pydantic.

A row either becomes a `CaseRow` (typed, cleaned, placed in a community) or a `Rejected` row
with a reason in Chinese and English for the quarantine. Nothing is dropped.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from liandong.clock import SHANGHAI
from liandong.roster import Roster
from tasks.sources import RawRow

MAX_TEXT = 20_000  # characters; a 1 MB field is somebody's mistake, kept in quarantine
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_SPACES = re.compile(r"[ \t\u3000]+")
_NEEDS_CLEANING = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u3000]|  ")
_CN_DATE = re.compile(
    r"^(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})(?:\.\d+)?)?\s*[分秒]?)?\s*$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_URGENCY = {
    "紧急": "urgent", "特急": "urgent", "加急": "urgent", "urgent": "urgent",
    "较急": "high", "急": "high", "高": "high", "high": "high",
    "一般": "normal", "普通": "normal", "中": "normal", "normal": "normal",
    "不急": "low", "低": "low", "low": "low",
}


def clean_text(value: Any) -> str:
    """Strip control characters (CR/LF inside a line would later reach mail headers) and blanks."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = value if isinstance(value, str) else str(value)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if not _NEEDS_CLEANING.search(text):  # the common case, kept cheap for 100k-row nights
        return text.strip()
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n")).strip()


def parse_received_at(value: Any) -> datetime:
    """Any date a hotline export uses → naive UTC. Local times are Asia/Shanghai."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and 20000 < value < 80000:
        dt = _EXCEL_EPOCH + timedelta(days=float(value))  # an Excel serial date
    else:
        dt = _parse_date_text(clean_text(value))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)
    if not 2000 <= dt.year <= 2100:
        raise ValueError(f"年份不合理 / implausible year {dt.year}")
    return dt.astimezone(timezone.utc).replace(tzinfo=None)


def _parse_date_text(text: str) -> datetime:
    if not text:
        raise ValueError("缺少受理时间 / missing received time")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    m = _CN_DATE.match(text) or _COMPACT.match(text)
    if not m:
        raise ValueError(f"无法识别的时间格式 / unrecognised date: {text[:40]!r}")
    parts = [int(p) if p else 0 for p in m.groups()]
    try:
        return datetime(*parts[:3], *parts[3:6])
    except ValueError as exc:
        raise ValueError(f"日期不存在 / no such date: {text[:40]!r}") from exc


def _text(max_length: int = MAX_TEXT):
    return Annotated[str, Field(max_length=max_length)]


class CaseRow(BaseModel):
    # Numbers become text (XLSX phone cells are ints); None means an empty cell.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, coerce_numbers_to_str=True)

    source: str
    source_ref: _text(128) = Field(min_length=1)  # type: ignore[valid-type]
    received_at: Annotated[datetime, BeforeValidator(parse_received_at)]
    title: _text(200) = ""  # type: ignore[valid-type]
    description: _text() = ""  # type: ignore[valid-type]
    category: _text(64) = ""  # type: ignore[valid-type]
    urgency: _text(16) = ""  # type: ignore[valid-type]
    community: _text(64) = ""  # type: ignore[valid-type]
    grid: _text(64) = ""  # type: ignore[valid-type]
    address: _text(500) = ""  # type: ignore[valid-type]
    reporter_name: _text(64) = ""  # type: ignore[valid-type]
    reporter_phone: _text(32) = ""  # type: ignore[valid-type]
    channel: _text(32) = ""  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _clean(cls, data: Any) -> Any:
        """Clean every text cell; one regex pass over the joined row keeps clean rows cheap."""
        if not isinstance(data, dict):
            return data
        values = [v for k, v in data.items() if k != "received_at"]
        if all(type(v) is str for v in values):
            joined = "".join(values)
            if not _NEEDS_CLEANING.search(joined) and (joined.isascii() or unicodedata.is_normalized("NFC", joined)):
                return data
        return {k: v if k == "received_at" or isinstance(v, (int, float)) and not isinstance(v, bool)
                else clean_text(v) for k, v in data.items()}

    @model_validator(mode="after")
    def _title_or_description(self) -> CaseRow:
        if not self.title and not self.description:
            raise ValueError("诉求标题和诉求内容都为空 / both title and description are empty")
        self.title = self.title or self.description[:40]
        self.description = self.description or self.title
        return self

    @field_validator("reporter_phone", mode="after")
    @classmethod
    def _phone(cls, phone: str) -> str:
        digits = re.sub(r"[\s\-()（）+]", "", phone)
        if digits and not digits.isdigit():
            raise ValueError("电话号码含非数字字符 / phone number has non-digit characters")
        return digits

    @field_validator("urgency", mode="after")
    @classmethod
    def _urgency(cls, urgency: str) -> str:
        if urgency and urgency.lower() not in _URGENCY:
            raise ValueError(f"未知紧急程度 / unknown urgency {urgency!r}")
        return _URGENCY.get(urgency.lower(), "")


@dataclass(slots=True)
class Rejected:
    row: RawRow
    reason: str


_FIELD_ZH = {
    "source_ref": "工单编号", "received_at": "受理时间", "title": "诉求标题", "description": "诉求内容",
    "reporter_phone": "联系电话", "urgency": "紧急程度", "category": "诉求类别", "address": "事发地址",
}
_ERROR_ZH = {"missing": "缺失", "string_too_short": "为空", "too_short": "为空", "string_too_long": "过长",
             "too_long": "过长", "value_error": "无效"}


def _reason(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        name = str(e["loc"][0]) if e["loc"] else "row"
        msg = e["msg"].removeprefix("Value error, ")
        if not e["loc"]:  # a rule over the whole row says it all itself
            parts.append(msg)
        elif e["type"] == "value_error" and " / " in msg:
            parts.append(f"{_FIELD_ZH.get(name, name)}（{name}）: {msg}")
        else:
            parts.append(f"{_FIELD_ZH.get(name, name)}{_ERROR_ZH.get(e['type'], '无效')} / {name}: {msg}")
    return "; ".join(parts)


class Placement:
    """Resolves a row's community and grid from its columns or its address (the address→grid table)."""

    def __init__(self, roster: Roster):
        self.communities: dict[str, str] = {}
        self.grids: dict[str, tuple[str, str]] = {}
        self.prefixes: list[tuple[str, str, str]] = []
        for c in roster.communities:
            self.communities[c.id] = self.communities[c.name] = c.id
            for g in c.grids:
                self.grids[g.id] = self.grids[g.name] = (c.id, g.id)
                self.prefixes += [(_squash(p), c.id, g.id) for p in g.addresses]
        self.prefixes.sort(key=lambda p: -len(p[0]))  # the most specific prefix wins
        # The same "longest prefix, then roster order" lookup by dictionary, one per prefix length:
        # a district has hundreds of prefixes, and scanning them all cost ~0.1 ms a row.
        self.starts: list[tuple[int, dict[str, tuple[str, str]]]] = []
        for p, c, g in self.prefixes:
            if not p:
                continue
            if not self.starts or self.starts[-1][0] != len(p):
                self.starts.append((len(p), {}))
            self.starts[-1][1].setdefault(p, (c, g))

    def place(self, row: CaseRow) -> tuple[str, str | None]:
        if row.grid in self.grids:
            return self.grids[row.grid]
        key = _squash(row.address)
        # An address that starts with a grid's street beats one that merely mentions it (路口, 对面).
        by_address = (next((found for length, table in self.starts if (found := table.get(key[:length]))), None)
                      or next(((c, g) for p, c, g in self.prefixes if p and p in key), None))
        if row.community:
            community = self.communities.get(row.community)
            if community is None:
                raise ValueError(f"社区“{row.community}”不在花名册中 / community {row.community!r} is not in the roster")
            if by_address and by_address[0] == community:
                return by_address
            return community, None
        if by_address:
            return by_address
        raise ValueError("无法确定所属社区：没有社区名，地址也不在任何网格内 / "
                         "cannot place the case: no community given and the address matches no grid")


def _squash(text: str) -> str:
    return re.sub(r"[\s,，。·\-—()（）]", "", text)


def validate_rows(rows: list[RawRow], placement: Placement) -> tuple[list[tuple[RawRow, CaseRow, str, str | None]], list[Rejected]]:
    """Validate a batch. Returns (row, case, community_id, grid_id) for the good rows and the rejected ones."""
    good: list[tuple[RawRow, CaseRow, str, str | None]] = []
    bad: list[Rejected] = []
    # 100k new objects trigger the cyclic GC over and over; nothing here makes cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for row in rows:
            if row.error:
                bad.append(Rejected(row, row.error))
                continue
            try:
                case = CaseRow.model_validate({**row.fields, "source": row.source})
                community, grid = placement.place(case)
            except ValidationError as exc:
                bad.append(Rejected(row, _reason(exc)))
                continue
            except ValueError as exc:
                bad.append(Rejected(row, str(exc)))
                continue
            good.append((row, case, community, grid))
    finally:
        if gc_was_enabled:
            gc.enable()
    return good, bad
