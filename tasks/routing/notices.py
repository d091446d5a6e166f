"""The emails of the assignment stage: one notice per assignment (the reporter's name and phone
go to the lead unit only) and one claim-list digest per contact listing every open need."""

from __future__ import annotations

from itertools import groupby

from liandong.roster import Roster, Unit
from tasks.mail.compose import Draft, Recipient
from tasks.mail.notices import assignment_draft, claim_list_draft
from warehouse.store import Warehouse


def recipients(unit: Unit) -> tuple[Recipient, ...]:
    return tuple(Recipient(c.name, c.email, c.locale) for c in unit.contacts)


def labelled(case: dict, roster: Roster, locale: str) -> dict:
    """The case as a contact reads it: the category's name in their language, not its id."""
    category = next((c for c in roster.categories if c.id == case.get("category")), None)
    if category is None:
        return case
    return {**case, "category": category.name if locale == "zh-CN" else category.name_en or category.name}


def assignment_notices(wh: Warehouse, roster: Roster) -> list[Draft]:
    rows = wh.query("assignments_without_notice")
    units = _UnitIndex(roster)
    supports: dict[str, list[str]] = {}
    # Only the cases notified now: all ~30,000 live supports of a district, read for each batch
    # of replies, were half of re-routing a decline.
    live = ("SELECT case_id, unit_id FROM assignments WHERE role = 'support' AND state IN ('notified', 'accepted', "
            "'done_reported') AND case_id IN (SELECT unnest(?::VARCHAR[]))")
    for r in wh.rows(live, [list({row["case_id"] for row in rows})]):
        supports.setdefault(r["case_id"], []).append(units.unit(r["unit_id"]).name)
    drafts = []
    for row in rows:
        unit = units.unit(row["unit_id"])
        to = recipients(unit)
        lead = units.unit(row["lead_unit_id"]).name if row["lead_unit_id"] else None
        drafts.append(assignment_draft(
            case=labelled(row, roster, to[0].locale), assignment_id=row["assignment_id"], role=row["role"], unit_id=unit.id, unit_name=unit.name,
            to=to, accept_by=row["accept_by"], due_at=row["due_at"], lead_unit_name=lead,
            support_unit_names=supports.get(row["case_id"], [])))
    return drafts


class _UnitIndex:
    """`roster.unit` by dictionary: a district's 500 units scanned for each of ~70,000 rows took
    seconds. An unknown unit still raises `roster.unit`'s KeyError."""

    def __init__(self, roster: Roster):
        self.roster = roster
        self.by_id = {u.id: u for u in roster.units}

    def unit(self, unit_id: str) -> Unit:
        found = self.by_id.get(unit_id)
        return found if found is not None else self.roster.unit(unit_id)


def claim_list_digests(wh: Warehouse, roster: Roster) -> list[Draft]:
    drafts = []
    for unit_id, offers in groupby(wh.query("open_claim_offers"), key=lambda r: r["unit_id"]):
        offers = list(offers)
        unit = roster.unit(unit_id)
        claim_by = min(o["claim_by"] for o in offers)
        drafts += [claim_list_draft(unit_id=unit.id, unit_name=unit.name, to=contact, claim_by=claim_by,
                                    cases=[labelled(o, roster, contact.locale) for o in offers])
                   for contact in recipients(unit)]
    return drafts
