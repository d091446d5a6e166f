"""Drafts for the notices of the assignment stage, with the context their templates expect.

Only the case fields a template shows are copied into the context (a unit never receives
columns it has no use for), with None for what the case lacks; one-line fields (title,
category, address) have their line breaks folded to spaces.

Template `assignment` (purpose `assignment`):
    case: case_id, title, description, urgency (urgent|high|normal|low), category, address,
          received_at (naive UTC), reporter_name, reporter_phone
    role: lead | support;  unit_name;  lead_unit_name;  support_unit_names: list[str]
    accept_by, due_at: naive UTC or None
Template `claim_list` (purpose `claim_list`):
    cases: list of `case` as above without the reporter;  unit_name;  claim_by: naive UTC or None
Every template also gets, from the composer: case_id, recipient_name, platform_name,
reply_address, subject, and `mailto(body)` for reply buttons.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from tasks.mail.compose import Draft, Recipient

CASE_FIELDS = ("case_id", "title", "description", "urgency", "category", "address", "received_at")
REPORTER_FIELDS = ("reporter_name", "reporter_phone")
ONE_LINE_FIELDS = frozenset({"title", "category", "address", "reporter_name", "reporter_phone"})


def assignment_draft(
    *, case: Mapping[str, Any], assignment_id: str, role: Literal["lead", "support"], unit_id: str,
    unit_name: str, to: Sequence[Recipient], cc: Sequence[Recipient] = (), accept_by: datetime | None = None,
    due_at: datetime | None = None, lead_unit_name: str | None = None, support_unit_names: Sequence[str] = (),
) -> Draft:
    """The notice of one assignment to its unit's contacts; the reporter is shown in full to the
    lead unit only. Key `assignment:<assignment_id>`: one notice per assignment, ever."""
    if role not in ("lead", "support"):
        raise ValueError(f"role must be lead or support, not {role!r}")
    return Draft(
        idempotency_key=f"assignment:{assignment_id}",
        purpose="assignment",
        template="assignment",
        to=tuple(to),
        cc=tuple(cc),
        case_id=case["case_id"],
        assignment_id=assignment_id,
        unit_id=unit_id,
        reveal_reporter=role == "lead",
        context={
            "case": _pick(case, CASE_FIELDS + REPORTER_FIELDS),
            "role": role,
            "unit_name": unit_name,
            "lead_unit_name": lead_unit_name,
            "support_unit_names": list(support_unit_names),
            "accept_by": accept_by,
            "due_at": due_at,
        },
    )


def claim_list_draft(
    *, unit_id: str, unit_name: str, to: Recipient, cases: Sequence[Mapping[str, Any]],
    claim_by: datetime | None = None,
) -> Draft:
    """One digest to one contact listing many open needs. The key covers the contact and the set
    of cases, so the same list is never sent twice and a changed list is a new digest."""
    if not cases:
        raise ValueError("a claim list needs at least one case")
    case_ids = sorted(c["case_id"] for c in cases)
    digest = hashlib.sha256("\n".join(case_ids).encode()).hexdigest()[:16]
    return Draft(
        idempotency_key=f"claim_list:{unit_id}:{to.email}:{digest}",
        purpose="claim_list",
        template="claim_list",
        to=(to,),
        unit_id=unit_id,
        context={
            "cases": [_pick(c, CASE_FIELDS) for c in cases],
            "unit_name": unit_name,
            "claim_by": claim_by,
        },
    )


def _pick(case: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {f: _one_line(case.get(f)) if f in ONE_LINE_FIELDS else case.get(f) for f in fields}


def _one_line(value: Any) -> Any:
    return " ".join(value.split()) if isinstance(value, str) else value
