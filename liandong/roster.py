"""The roster of the joint committees: communities, grids, member units, contacts, routing
rules, deadline policy, meeting cadence and rotating-chair order.

It is one YAML file, or a folder of YAML files whose top-level lists are concatenated (so a
district can keep one file per community). A roster that does not validate raises
`RosterError` naming the file, the field path and the reason in Chinese and English, before
anything touches the warehouse.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=254,
                      pattern=r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$"),
]
Locale = Literal["zh-CN", "en"]
Urgency = Literal["urgent", "high", "normal", "low"]
URGENCIES: tuple[str, ...] = ("urgent", "high", "normal", "low")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    name: str
    email: Email
    locale: Locale = "zh-CN"


class Contact(Person):
    """A unit's part-time member (兼职委员) or deputy; only contacts' replies are acted on."""

    role: Literal["member", "deputy", "leader"] = "member"


class Grid(_Strict):
    id: Identifier
    name: str
    worker: Person | None = None
    # Address prefixes that lie in this grid (the address→grid table).
    addresses: list[str] = []


class Community(_Strict):
    id: Identifier
    name: str
    coordinator: Person
    grids: list[Grid] = []
    meeting_cadence: Literal["monthly", "quarterly"] = "quarterly"
    # Member units in the order they take the rotating chair (轮值主席).
    chair_order: list[Identifier] = []
    chair_term_months: int = Field(3, ge=1, le=12)
    chair_start: str = "2026-01-01"
    # The supervisor (督办: e.g. the street's supervision office) who, with the rotating chair,
    # receives the escalation of a case long past its deadline. None: the chair alone.
    supervisor: Person | None = None


class Unit(_Strict):
    id: Identifier
    name: str
    name_en: str = ""
    kind: Identifier
    communities: list[Identifier]
    # The resource list (资源清单): categories this unit can handle.
    capabilities: list[Identifier] = []
    # Human-readable resources offered (法律咨询, 医疗义诊 …) for claim lists and agendas.
    resources: list[str] = []
    capacity: int = Field(20, ge=0)
    locale: Locale = "zh-CN"
    contacts: list[Contact] = Field(min_length=1)


class Category(_Strict):
    id: Identifier
    name: str
    name_en: str = ""
    keywords: list[str] = []


class RoutingRule(_Strict):
    """category × community → lead (unit id or `kind:<unit kind>`) and supporting units."""

    category: Identifier
    community: Identifier | Literal["*"] = "*"
    lead: str
    support: list[str] = []


class OutOfScopeRule(_Strict):
    keywords: list[str]
    reason: str


class Triage(_Strict):
    urgent_keywords: list[str] = []
    high_keywords: list[str] = []
    out_of_scope: list[OutOfScopeRule] = []
    duplicate_window_days: int = Field(7, ge=0)


class Policy(_Strict):
    """Deadline policy; defaults drawn from practice (10-day fix orders, quarterly meetings)."""

    acceptance_working_days: int = Field(1, ge=0)
    urgent_acceptance_hours: int = Field(4, ge=1)
    handling_working_days: dict[Urgency, int] = {"urgent": 1, "high": 5, "normal": 10, "low": 15}
    category_handling_working_days: dict[str, int] = {}
    reminder_working_days_before: list[int] = [2]
    lookback_calendar_days: int = Field(30, ge=1)
    adhoc_meeting_notice_hours: int = Field(24, ge=0)
    # Chasing (docs/deadlines.md). The overdue notice goes out on the first working day after the
    # deadline; the escalation to the rotating chair and the supervisor on this working day after it.
    escalate_after_working_days: int = Field(3, ge=1)
    # digest: one email per unit contact per night listing every due item; per_case: one per item.
    chase_mail: Literal["digest", "per_case"] = "digest"
    # The most a coordinator may extend (延期) a deadline by in one grant: a guard against typos.
    max_extension_working_days: int = Field(15, ge=1)
    # Look-back (回头看): a reminder after this many working days without an answer, and
    # `no_response` this many working days after the reminder.
    lookback_reminder_working_days: int = Field(3, ge=1)
    lookback_no_response_working_days: int = Field(3, ge=1)


class Roster(_Strict):
    communities: list[Community]
    units: list[Unit]
    categories: list[Category]
    routing_rules: list[RoutingRule] = []
    triage: Triage = Triage()
    policy: Policy = Policy()

    @model_validator(mode="after")
    def _references_resolve(self) -> Roster:
        problems: list[str] = []
        community_ids = _unique(problems, "communities", [c.id for c in self.communities])
        unit_ids = _unique(problems, "units", [u.id for u in self.units])
        category_ids = _unique(problems, "categories", [c.id for c in self.categories])
        _unique(problems, "grids", [g.id for c in self.communities for g in c.grids])
        _unique(problems, "contacts.email", [p.email for u in self.units for p in u.contacts])
        kinds = {u.kind for u in self.units}
        for u in self.units:
            problems += [f"units[{u.id}].communities: unknown community '{c}' / 未知社区"
                         for c in u.communities if c not in community_ids]
            problems += [f"units[{u.id}].capabilities: unknown category '{c}' / 未知类别"
                         for c in u.capabilities if c not in category_ids]
        for c in self.communities:
            problems += [f"communities[{c.id}].chair_order: unknown unit '{x}' / 未知单位"
                         for x in c.chair_order if x not in unit_ids]
        for i, r in enumerate(self.routing_rules):
            if r.category not in category_ids:
                problems.append(f"routing_rules[{i}].category: unknown category '{r.category}' / 未知类别")
            if r.community != "*" and r.community not in community_ids:
                problems.append(f"routing_rules[{i}].community: unknown community '{r.community}' / 未知社区")
            for target in [r.lead, *r.support]:
                if not _target_known(target, unit_ids, kinds):
                    problems.append(f"routing_rules[{i}]: unknown unit or kind '{target}' / 未知单位或单位类型")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # Lookups used across the stages.
    def unit(self, unit_id: str) -> Unit:
        for u in self.units:
            if u.id == unit_id:
                return u
        raise KeyError(f"花名册中没有单位 / no unit in the roster: {unit_id}")

    def community(self, community_id: str) -> Community:
        for c in self.communities:
            if c.id == community_id:
                return c
        raise KeyError(f"花名册中没有社区 / no community in the roster: {community_id}")

    def contact_units(self) -> dict[str, str]:
        """Contact email → unit id."""
        return {p.email: u.id for u in self.units for p in u.contacts}


def _unique(problems: list[str], what: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for x in ids:
        if x in seen:
            problems.append(f"{what}: duplicate id '{x}' / 重复的编号")
        seen.add(x)
    return seen


def _target_known(target: str, unit_ids: set[str], kinds: set[str]) -> bool:
    if target.startswith("kind:"):
        return target[5:] in kinds
    return target in unit_ids


class RosterError(Exception):
    """A roster that cannot be used. The message is bilingual and names file and field."""

    def __init__(self, path: Path, problems: list[tuple[str, str]]):
        self.path = path
        self.problems = problems
        lines = [f"花名册无效 / invalid roster: {path}"]
        lines += [f"  - {where}: {why}" for where, why in problems]
        super().__init__("\n".join(lines))


_PYDANTIC_ZH = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不认识的字段",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "取值不在允许范围内",
    "int_parsing": "应为整数",
    "too_short": "至少需要一项",
    "greater_than_equal": "数值过小",
    "value_error": "取值错误",
}


# libyaml's loader when PyYAML has it: a district's roster (500 units) parses in ~0.1 s instead
# of ~1 s, and every task of a night loads the roster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Validated rosters by the bytes of their files: the roster is immutable, and a night's tasks
# load the same file dozens of times. A changed file has other bytes and is validated afresh.
_LOADED: dict[tuple[tuple[str, bytes], ...], Roster] = {}
_LOADED_MAX = 8


def load_roster(path: Path | str) -> Roster:
    path = Path(path)
    files = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise RosterError(path, [("(file)", "花名册文件不存在 / roster file not found")])
    contents = [(f, f.read_bytes()) for f in files]
    key = tuple((str(f.resolve()), hashlib.sha256(raw).digest()) for f, raw in contents)
    if key in _LOADED:
        return _LOADED[key]
    roster = _validate(path, contents)
    if len(_LOADED) >= _LOADED_MAX:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = roster
    return roster


def _validate(path: Path, contents: list[tuple[Path, bytes]]) -> Roster:
    merged: dict[str, object] = {}
    for f, raw in contents:
        try:
            data = yaml.load(raw.decode("utf-8"), Loader=_YAML_LOADER) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise RosterError(f, [("(file)", f"无法解析 YAML / not valid YAML: {exc}")]) from None
        if not isinstance(data, dict):
            raise RosterError(f, [("(file)", "顶层应为映射 / top level must be a mapping")])
        for key, value in data.items():
            if isinstance(value, list) and isinstance(merged.get(key), list):
                merged[key] = [*merged[key], *value]  # type: ignore[list-item]
            else:
                merged[key] = value
    try:
        return Roster.model_validate(merged)
    except ValidationError as exc:
        raise RosterError(path, [_explain(e) for e in exc.errors()]) from None


def _explain(error: dict) -> tuple[str, str]:
    where = ".".join(str(p) for p in error["loc"]) or "(roster)"
    zh = _PYDANTIC_ZH.get(error["type"], "取值无效")
    msg = re.sub(r"^Value error, ", "", error["msg"])
    return where, f"{zh} / {msg}"
