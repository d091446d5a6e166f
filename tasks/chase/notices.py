"""The emails of the chasing ladder.

Unit track (purpose `reminder`, so a reply of 进展 / 办结 is read as such): by default one digest
per unit and contact language per night (`chase_digest`), listing every item due for that unit,
with the coordinators of the overdue items' communities in copy; with `policy.chase_mail:
per_case`, one email per item (`deadline_reminder`, `due_today`, `overdue`). Escalation track
(purpose `notice`): one email per community and night (`escalation`, or one per case) to the
rotating chair's contacts and the supervisor, the coordinator in copy.

Every draft is returned with the items it carries: an item counts as sent once a draft carrying
it is in the outbox. Idempotency keys are derived from the items, so a rerun of the same night
yields the same keys and the outbox adds nothing.

Template contexts (besides what the composer adds):
    chase_digest:  unit_name, items, counts {overdue, due_today, reminder}
    deadline_reminder | due_today | overdue:  unit_name, item, coordinator_name
    escalation:  community_name, chair_unit_name, supervisor_name, coordinator_name, items
An item: case {case_id, title, category, urgency, address, received_at}, rung (reminder |
due_today | overdue | escalation), working_days (left, or past the deadline), due_at (naive
UTC), community_name, lead_unit_name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any

from liandong.roster import Community, Person, Roster, Unit
from tasks.chase.chair import ChairUnknown, chair_unit_id
from tasks.chase.ladder import DUE_TODAY, OVERDUE, REMINDER
from tasks.mail.compose import Draft, Recipient
from tasks.routing.notices import labelled

CASE_FIELDS = ("case_id", "title", "category", "urgency", "address", "received_at")
PER_CASE_TEMPLATES = {REMINDER: "deadline_reminder", DUE_TODAY: "due_today", OVERDUE: "overdue"}
ORDER = {OVERDUE: 0, DUE_TODAY: 1, REMINDER: 2}


@dataclass(frozen=True, eq=False)
class Item:
    """One rung of one lead assignment's current deadline, due tonight (hashed by identity)."""

    rung: str  # reminder:<n> | due_today | overdue | escalation
    working_days: int
    row: dict[str, Any]  # the assignment row of query chase_open_deadlines

    @property
    def key(self) -> str:
        """Rung, unit and case (the assignment) and deadline: the ladder's idempotency key."""
        return f"{self.rung}:{self.row['assignment_id']}:{self.row['due_at']:%Y%m%dT%H%M%S}"

    @property
    def kind(self) -> str:
        return self.rung.split(":")[0]

    @property
    def case_id(self) -> str:
        return self.row["case_id"]


Carried = tuple[Draft, list[Item]]


def unit_drafts(roster: Roster, items: list[Item], today: date) -> list[Carried]:
    """The lead units' emails: a digest per unit and contact language, or one per item."""
    out: list[Carried] = []
    by_unit = sorted(items, key=lambda i: (i.row["unit_id"], ORDER[i.kind], i.row["due_at"], i.case_id))
    for unit_id, group in groupby(by_unit, key=lambda i: i.row["unit_id"]):
        unit, unit_items = roster.unit(unit_id), list(group)
        for locale, to in contacts_by_locale(unit):
            if roster.policy.chase_mail == "digest":
                out.append((_digest(roster, unit, to, locale, unit_items, today), unit_items))
            else:
                out += [(_per_case(roster, unit, to, locale, item), [item]) for item in unit_items]
    return out


def escalation_drafts(roster: Roster, items: list[Item], today: date, problems: list[str]) -> list[Carried]:
    """The escalations: to the community's rotating chair of `today` and its supervisor, per
    community (or per item), per recipient language."""
    out: list[Carried] = []
    ordered = sorted(items, key=lambda i: (i.row["community_id"] or "", i.row["due_at"], i.case_id))
    for community_id, group in groupby(ordered, key=lambda i: i.row["community_id"]):
        community_items = list(group)
        community = _community(roster, community_id)
        if community is None:
            problems += [f"{i.case_id}: 没有所属社区，无法升级督办 / no community: cannot escalate" for i in community_items]
            continue
        chair = _chair(community, today, problems)
        batches = [community_items] if roster.policy.chase_mail == "digest" else [[i] for i in community_items]
        for locale, to in _escalation_recipients(roster, community, chair, problems):
            out += [(_escalation(roster, community, chair, to, locale, batch, today), batch) for batch in batches]
    return out


def contacts_by_locale(unit: Unit) -> list[tuple[str, tuple[Recipient, ...]]]:
    """A unit's contacts grouped by language: each group shares one email in its language."""
    return _by_locale(Recipient(c.name, c.email, c.locale) for c in unit.contacts)


def _by_locale(recipients: Iterable[Recipient]) -> list[tuple[str, tuple[Recipient, ...]]]:
    groups: dict[str, list[Recipient]] = {}
    for r in recipients:
        groups.setdefault(r.locale, []).append(r)
    return [(locale, tuple(rs)) for locale, rs in groups.items()]


def _person(p: Person) -> Recipient:
    return Recipient(p.name, p.email, p.locale)


def _community(roster: Roster, community_id: str | None) -> Community | None:
    return next((c for c in roster.communities if c.id == community_id), None)


def _entry(roster: Roster, item: Item, locale: str) -> dict[str, Any]:
    row = item.row
    community = _community(roster, row["community_id"])
    return {
        "case": labelled({f: row.get(f) for f in CASE_FIELDS}, roster, locale),
        "rung": item.kind,
        "working_days": item.working_days,
        "due_at": row["due_at"],
        "community_name": community.name if community else "",
        "lead_unit_name": roster.unit(row["unit_id"]).name,
    }


def _coordinators(roster: Roster, items: list[Item]) -> tuple[Recipient, ...]:
    """The coordinators of the communities of the overdue items: in copy of the unit's mail."""
    ids = sorted({i.row["community_id"] for i in items if i.kind == OVERDUE and i.row["community_id"]})
    return tuple(_person(c.coordinator) for c in roster.communities if c.id in ids)


def _fingerprint(items: list[Item]) -> str:
    return hashlib.sha256("\n".join(sorted(i.key for i in items)).encode()).hexdigest()[:16]


def _single(items: list[Item]) -> dict[str, str | None]:
    """A mail about one case carries it in the subject tag and the reply token."""
    if len(items) == 1:
        return {"case_id": items[0].case_id, "assignment_id": items[0].row["assignment_id"]}
    return {"case_id": None, "assignment_id": None}


def _digest(roster: Roster, unit: Unit, to: tuple[Recipient, ...], locale: str, items: list[Item],
            today: date) -> Draft:
    return Draft(
        idempotency_key=f"chase_digest:{unit.id}:{locale}:{today.isoformat()}:{_fingerprint(items)}",
        purpose="reminder", template="chase_digest", to=to, cc=_coordinators(roster, items), unit_id=unit.id,
        **_single(items),
        context={"unit_name": unit.name, "items": [_entry(roster, i, locale) for i in items],
                 "counts": {k: sum(i.kind == k for i in items) for k in ORDER}},
    )


def _per_case(roster: Roster, unit: Unit, to: tuple[Recipient, ...], locale: str, item: Item) -> Draft:
    community = _community(roster, item.row["community_id"])
    return Draft(
        idempotency_key=f"chase:{item.key}:{locale}",
        purpose="reminder", template=PER_CASE_TEMPLATES[item.kind], to=to, cc=_coordinators(roster, [item]),
        unit_id=unit.id, **_single([item]),
        context={"unit_name": unit.name, "item": _entry(roster, item, locale),
                 "coordinator_name": community.coordinator.name if community else ""},
    )


def _chair(community: Community, today: date, problems: list[str]) -> str | None:
    try:
        return chair_unit_id(community, today)
    except ChairUnknown as exc:
        problems.append(str(exc))
        return None


def _escalation_recipients(roster: Roster, community: Community, chair: str | None,
                           problems: list[str]) -> list[tuple[str, tuple[Recipient, ...]]]:
    to = [Recipient(c.name, c.email, c.locale) for c in roster.unit(chair).contacts] if chair else []
    to += [_person(community.supervisor)] if community.supervisor else []
    if not to:
        problems.append(f"社区 {community.id} 没有轮值主席和督办人，升级通知只发给协调人"
                        f" / community {community.id} has no rotating chair or supervisor: the escalation"
                        f" goes to the coordinator only")
        to = [_person(community.coordinator)]
    return _by_locale(to)


def _escalation(roster: Roster, community: Community, chair: str | None, to: tuple[Recipient, ...], locale: str,
                items: list[Item], today: date) -> Draft:
    key = (f"chase:{items[0].key}:{locale}" if roster.policy.chase_mail == "per_case"
           else f"escalation:{community.id}:{locale}:{today.isoformat()}:{_fingerprint(items)}")
    coordinator = _person(community.coordinator)
    return Draft(
        idempotency_key=key, purpose="notice", template="escalation", to=to,
        cc=() if coordinator in to else (coordinator,), unit_id=chair, **_single(items),
        context={"community_name": community.name, "chair_unit_name": roster.unit(chair).name if chair else None,
                 "supervisor_name": community.supervisor.name if community.supervisor else None,
                 "coordinator_name": community.coordinator.name,
                 "items": [_entry(roster, i, locale) for i in items]},
    )

