"""The synthetic district's roster: communities with grids, member units with contacts, and the
demo roster's categories, triage rules, routing rules (the `*` ones) and deadline policy.

Units of the kinds the routing rules name are spread over the communities so that every
community has at least one of each; the other units (schools, companies, social organisations)
serve one to three communities and offer the categories no rule covers (the claim list).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEMO_ROSTER = ROOT / "demo" / "roster.yaml"

# Two characters per community: 10 × 10 unique stems, none a prefix of another's address.
FIRST = "星东桥南北金银青白翠"
SECOND = "光湖西苑林河山城安华"
GRID_STREETS = ["东路", "西路", "南街", "北里"]
GRID_ESTATES = ["东苑", "西苑", "南园", "北园"]
GRID_NAMES = ["第一网格", "第二网格", "第三网格", "第四网格"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰文斌宁建国海波志红"

# Routing kinds (every community needs one of each) and how many units of each the district has.
ROUTING_KINDS = {
    "property_management": (100, "物业服务有限公司", ["property", "parking", "fire_safety"]),
    "police_station": (25, "派出所", ["noise", "public_order", "parking", "fire_safety"]),
    "urban_management": (25, "综合行政执法中队", ["sanitation", "construction_waste", "roads", "market", "parking"]),
    "community_hospital": (25, "社区卫生服务中心", ["elderly_care", "animals"]),
    "market_supervision": (25, "市场监管所", ["market"]),
    "street_office": (10, "街道办事处", ["animals", "elderly_care", "sanitation", "public_order"]),
    "ecology_environment_bureau": (10, "生态环境分局", ["noise", "sanitation"]),
    "housing_construction_bureau": (10, "住房和城乡建设局", ["building_safety", "construction_waste", "property"]),
    "landscaping": (10, "园林绿化所", ["trees_greening"]),
    "power_supply": (10, "供电所", ["power", "trees_greening"]),
    "emergency_management_bureau": (10, "应急管理站", ["building_safety", "fire_safety"]),
}
OTHER_KINDS = [
    ("primary_school", "小学"), ("middle_school", "中学"), ("kindergarten", "幼儿园"), ("private_company", "科技有限公司"),
    ("foreign_invested_company", "精密制造有限公司"), ("social_organization", "社会工作服务中心"),
    ("bank_branch", "银行支行"), ("state_enterprise", "国有企业"),
]
CLAIMABLE = ["elderly_care", "trees_greening", "animals"]


def stems(n: int) -> list[str]:
    out = [a + b for a in FIRST for b in SECOND]
    if n > len(out):
        raise ValueError(f"at most {len(out)} communities")
    return out[:n]


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def build_roster(communities: int, units: int, seed: int) -> dict[str, Any]:
    """The roster as the YAML data an operator would write."""
    rng = random.Random(seed)
    demo = yaml.safe_load(DEMO_ROSTER.read_text(encoding="utf-8"))
    names = stems(communities)
    ids = [f"c{i:02d}" for i in range(communities)]
    unit_list: list[dict[str, Any]] = []

    def add_unit(kind: str, label: str, served: list[str], capabilities: list[str], locale: str = "zh-CN") -> None:
        n = len(unit_list)
        uid = f"u{n:03d}-{kind.replace('_', '-')}"[:64]
        contacts = []
        for k in range(rng.randint(1, 3)):
            role = ["member", "deputy", "leader"][k]
            contacts.append({"name": person(rng), "email": f"{role}{k}@{uid}.example.cn", "role": role,
                             **({"locale": "en"} if locale == "en" else {})})
        unit_list.append({
            "id": uid, "name": f"{names[ids.index(served[0])]}{label}（{n:03d}）", "name_en": f"{kind} {n}",
            "kind": kind, "communities": served, "capabilities": capabilities,
            "resources": ["志愿服务", "场地开放"], "capacity": rng.randint(20, 80), "locale": locale,
            "contacts": contacts,
        })

    routing_units = sum(count for count, _, _ in ROUTING_KINDS.values())
    if units < routing_units + len(OTHER_KINDS):
        raise ValueError(f"at least {routing_units + len(OTHER_KINDS)} units")
    for kind, (count, label, capabilities) in ROUTING_KINDS.items():
        count = min(count, communities) if kind != "property_management" else count
        for k in range(count):
            lo, hi = k * communities // count, max((k + 1) * communities // count, k * communities // count + 1)
            add_unit(kind, label, ids[lo:hi], capabilities)
    for k in range(units - len(unit_list)):
        kind, label = OTHER_KINDS[k % len(OTHER_KINDS)]
        served = sorted(rng.sample(ids, rng.randint(1, 3)))
        add_unit(kind, label, served, rng.sample(CLAIMABLE, rng.randint(1, 2)),
                 "en" if kind == "foreign_invested_company" else "zh-CN")

    serving: dict[str, list[str]] = {c: [] for c in ids}
    for u in unit_list:
        for c in u["communities"]:
            serving[c].append(u["id"])
    community_list = []
    for i, (cid, stem) in enumerate(zip(ids, names)):
        community_list.append({
            "id": cid, "name": f"{stem}社区",
            "coordinator": {"name": person(rng), "email": f"coordinator@{cid}.example.cn"},
            "meeting_cadence": "monthly" if i % 3 == 0 else "quarterly",
            "grids": [{"id": f"{cid}-g{j + 1}", "name": f"{stem}{GRID_NAMES[j]}",
                       "worker": {"name": person(rng), "email": f"grid{j + 1}@{cid}.example.cn"},
                       "addresses": [f"{stem}{GRID_STREETS[j]}", f"{stem}{GRID_ESTATES[j]}"]}
                      for j in range(len(GRID_STREETS))],
            "chair_order": serving[cid][:5], "chair_term_months": 3, "chair_start": "2026-07-01",
            "supervisor": {"name": person(rng), "email": f"supervisor{i // 10}@district.example.cn"},
        })
    policy = {**demo["policy"], "lookback_calendar_days": 30}
    return {
        "communities": community_list, "units": unit_list, "categories": demo["categories"],
        "routing_rules": [r for r in demo["routing_rules"] if r.get("community", "*") == "*"],
        "triage": demo["triage"], "policy": policy,
    }


def write_roster(path: Path, roster: dict[str, Any]) -> None:
    path.write_text("# 合成的区级花名册 / a synthetic district roster (benchmarks/district)\n"
                    + yaml.safe_dump(roster, allow_unicode=True, sort_keys=False, width=200), encoding="utf-8")
