"""The emails of the look-back stage.

Template `lookback_question` (purpose `lookback`, key `lookback:<lookback_id>`) and
`lookback_reminder` (key `lookback_reminder:<lookback_id>`), to the person who can see the site:
    case {case_id, title, category, urgency, address, received_at}, lead_unit_name,
    resolved_at (naive UTC), grid_name (None when the coordinator is asked);
    the reminder also: asked_at, give_up_working_days
Template `reopened` (purpose `reminder`, key `reopened:<assignment_id>:<locale>`), to the lead
unit's contacts, reporter shown (the lead unit's right):
    case (with description and reporter), unit_name, due_at, resolved_at, checker_name,
    checker_note (their remark, or None), satisfaction
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from liandong.roster import Person, Roster
from tasks.chase.notices import CASE_FIELDS, contacts_by_locale
from tasks.mail.compose import Draft, Recipient
from tasks.routing.notices import labelled

REOPENED_CASE_FIELDS = (*CASE_FIELDS, "description", "reporter_name", "reporter_phone")


@dataclass(frozen=True)
class Checker:
    """Who looks back at the site: the grid worker of the case's grid, else the coordinator."""

    person: Person
    grid_name: str | None


def checker(roster: Roster, community_id: str | None, grid_id: str | None) -> Checker | None:
    community = next((c for c in roster.communities if c.id == community_id), None)
    if community is None:
        return None
    grid = next((g for g in community.grids if g.id == grid_id), None)
    if grid is not None and grid.worker is not None:
        return Checker(grid.worker, grid.name)
    return Checker(community.coordinator, None)


def question_draft(roster: Roster, row: dict[str, Any], who: Checker, *, reminder: bool = False,
                   give_up_working_days: int = 0) -> Draft:
    to = Recipient(who.person.name, who.person.email, who.person.locale)
    context = {
        "case": labelled({f: row[f] for f in CASE_FIELDS}, roster, to.locale),
        "lead_unit_name": roster.unit(row["lead_unit_id"]).name if row["lead_unit_id"] else "",
        "resolved_at": row["resolved_at"],
        "grid_name": who.grid_name,
    }
    if reminder:
        context |= {"asked_at": row["asked_at"], "give_up_working_days": give_up_working_days}
    return Draft(
        idempotency_key=f"{'lookback_reminder' if reminder else 'lookback'}:{row['lookback_id']}",
        purpose="lookback", template="lookback_reminder" if reminder else "lookback_question", to=(to,),
        case_id=row["case_id"], context=context,
    )


def reopened_drafts(roster: Roster, rows: list[dict[str, Any]]) -> list[Draft]:
    """The lead unit's notice of each reopened case, one per contact language."""
    names = {p.email: p.name for c in roster.communities
             for p in [c.coordinator, *(g.worker for g in c.grids if g.worker)]}
    drafts = []
    for row in rows:
        unit = roster.unit(row["unit_id"])
        for locale, to in contacts_by_locale(unit):
            drafts.append(Draft(
                idempotency_key=f"reopened:{row['assignment_id']}:{locale}", purpose="reminder", template="reopened",
                to=to, case_id=row["case_id"], assignment_id=row["assignment_id"], unit_id=unit.id,
                reveal_reporter=True,
                context={"case": labelled({f: row[f] for f in REOPENED_CASE_FIELDS}, roster, locale),
                         "unit_name": unit.name, "due_at": row["due_at"], "resolved_at": row["resolved_at"],
                         "checker_name": names.get(row["contact_email"], row["contact_email"] or ""),
                         "checker_note": row["answer_note"], "satisfaction": row["satisfaction"]},
            ))
    return drafts
