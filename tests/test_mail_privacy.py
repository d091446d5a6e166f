"""Masking of the reporter's name and phone for everyone but the lead unit."""

from __future__ import annotations

import pytest

from tasks.mail.privacy import mask_name, mask_phone, redact


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"),
    ("+86 138-1234-5678", "138****5678"),
    ("010-12345678", "010****5678"),
    ("6512 3456", "****3456"),
    ("110", "****"),
    ("", ""),
    (None, ""),
])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(("name", "masked"), [
    ("王小明", "王**"), ("王伟", "王*"), ("欧阳娜娜", "欧***"), ("王", "*"), ("Alice Smith", "A*********"),
    ("", ""), (None, ""),
])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_redact_masks_fields_and_their_echoes_in_free_text_at_any_depth():
    context = {
        "case": {"title": "王小明反映噪音", "reporter_name": "王小明", "reporter_phone": "13912345678",
                 "description": "请联系王小明，电话 139 1234 5678，或家人 13812345678。"},
        "cases": [{"reporter_name": "李四", "description": "李四说：打 010-88886666"}],
        "unit_name": "星光派出所",
        "role": "support",
    }
    out = redact(context)
    assert out["case"]["reporter_name"] == "王**" and out["case"]["reporter_phone"] == "139****5678"
    assert out["case"]["title"] == "王**反映噪音"
    assert out["case"]["description"] == "请联系王**，电话 139****5678，或家人 138****5678。"
    assert out["cases"][0]["description"] == "李*说：打 010-88886666"  # landlines are not guessed at
    assert out["unit_name"] == "星光派出所" and out["role"] == "support"
    assert context["case"]["reporter_name"] == "王小明", "the caller's context is left alone"
