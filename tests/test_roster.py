"""A bad roster fails fast with file, field path and reason in Chinese and English."""

from __future__ import annotations

from pathlib import Path

import pytest

from liandong.roster import RosterError, load_roster

GOOD = Path(__file__).parent / "fixtures" / "roster.yaml"


def test_demo_and_test_rosters_load():
    assert load_roster(GOOD).unit("pcs-xg").kind == "police_station"
    assert len(load_roster(Path(__file__).parent.parent / "demo" / "roster.yaml").units) >= 10


def broken(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "roster.yaml"
    text = GOOD.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "where", "zh"), [
    ("email: wang@pcs.example.cn", "email: not-an-address", "units.0.contacts.0.email", "格式不正确"),
    ("capacity: 10", "capacity: many", "units.0.capacity", "应为整数"),
    ("meeting_cadence: monthly", "meeting_cadence: weekly", "communities.0.meeting_cadence", "取值不在允许范围内"),
    ("    kind: police_station\n", "", "units.0.kind", "缺少必填字段"),
    ("lead: urban-mgmt", "lead: no-such-unit", "routing_rules", "未知单位"),
    ("capabilities: [noise, public_order]", "capabilities: [noise, fishing]", "unknown category 'fishing'", "未知类别"),
])
def test_errors_name_file_field_and_reason_in_both_languages(tmp_path, old, new, where, zh):
    with pytest.raises(RosterError) as info:
        load_roster(broken(tmp_path, old, new))
    message = str(info.value)
    assert str(tmp_path / "roster.yaml") in message and "invalid roster" in message and "花名册无效" in message
    assert where in message and zh in message


def test_unparseable_yaml_and_missing_file(tmp_path: Path):
    bad = tmp_path / "r.yaml"
    bad.write_text("units: [\n", encoding="utf-8")
    with pytest.raises(RosterError, match="not valid YAML"):
        load_roster(bad)
    with pytest.raises(RosterError, match="roster file not found"):
        load_roster(tmp_path / "missing.yaml")


def test_a_folder_of_files_is_one_roster(tmp_path: Path):
    text = GOOD.read_text(encoding="utf-8")
    head, tail = text.split("units:", 1)
    (tmp_path / "a.yaml").write_text(head, encoding="utf-8")
    (tmp_path / "b.yaml").write_text("units:" + tail, encoding="utf-8")
    assert len(load_roster(tmp_path).units) == 5
