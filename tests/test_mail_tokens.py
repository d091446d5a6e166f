"""Signed reply tokens: round trip, case folding, tampering, the 64-character local part."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from tasks.mail.tokens import PURPOSES, make_reply_token, read_reply_token, reply_address

SECRET = "test-secret"
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def test_round_trip_through_an_address_in_any_letter_case():
    token = make_reply_token(SECRET, purpose="assignment", case_id="LD-2026-000123",
                             assignment_id="LD-2026-000123/2", unit_id="pcs-xg")
    address = reply_address(token, "community.example.cn")
    local = address.split("@")[0]
    assert len(local) <= 64 and local == local.lower()

    for form in (address, address.upper(), f"联动 <{address}>", token, token.upper()):
        claims = read_reply_token(SECRET, form)
        assert claims is not None, form
        assert (claims.purpose, claims.case_id, claims.assignment_id) == \
            ("assignment", "LD-2026-000123", "LD-2026-000123/2")
        assert claims.is_for_unit("pcs-xg") and not claims.is_for_unit("eco-bureau")


def test_a_secret_str_works_like_the_plain_secret():
    token = make_reply_token(SecretStr(SECRET), purpose="reminder", case_id="LD-2026-000001")
    assert read_reply_token(SECRET, token).case_id == "LD-2026-000001"


def test_a_message_about_no_single_case_carries_only_purpose_and_unit():
    claims = read_reply_token(SECRET, make_reply_token(SECRET, purpose="claim_list", unit_id="hospital"))
    assert (claims.purpose, claims.case_id, claims.assignment_id) == ("claim_list", None, None)
    assert claims.is_for_unit("hospital")


def test_tampered_tokens_and_other_secrets_are_rejected():
    token = make_reply_token(SECRET, purpose="assignment", case_id="LD-2026-000123",
                             assignment_id="LD-2026-000123/1", unit_id="pcs-xg")
    assert read_reply_token("another-secret", token) is None
    for i in range(len(token)):
        for c in "a7":
            if token[i] != c:
                assert read_reply_token(SECRET, token[:i] + c + token[i + 1:]) is None, (i, c)
    for junk in ("", "reply+@x.cn", "reply+abc@x.cn", token[:-1], token + "a", "no token here"):
        assert read_reply_token(SECRET, junk) is None


def test_bad_ids_and_purposes_are_refused_when_making():
    with pytest.raises(ValueError):
        make_reply_token(SECRET, purpose="spam")
    with pytest.raises(ValueError):
        make_reply_token(SECRET, purpose="assignment", case_id="case-1")
    with pytest.raises(ValueError):
        make_reply_token(SECRET, purpose="assignment", case_id="LD-2026-000001", assignment_id="LD-2026-000002/1")


@given(
    purpose=st.sampled_from(PURPOSES),
    year=st.integers(2000, 2099),
    serial=st.integers(0, 999_999),
    n=st.one_of(st.none(), st.integers(1, 65_535)),
    unit=st.one_of(st.none(), st.from_regex(r"[a-z0-9][a-z0-9_-]{0,63}", fullmatch=True)),
    flip=st.integers(0, 38),
    replacement=st.sampled_from(ALPHABET),
)
def test_any_token_round_trips_and_any_changed_character_breaks_it(purpose, year, serial, n, unit, flip, replacement):
    case_id = f"LD-{year}-{serial:06d}"
    assignment_id = f"{case_id}/{n}" if n else None
    token = make_reply_token(SECRET, purpose=purpose, case_id=case_id, assignment_id=assignment_id, unit_id=unit)
    claims = read_reply_token(SECRET, token)
    assert (claims.purpose, claims.case_id, claims.assignment_id) == (purpose, case_id, assignment_id)
    assert claims.is_for_unit(unit)
    if token[flip] != replacement:
        assert read_reply_token(SECRET, token[:flip] + replacement + token[flip + 1:]) is None
