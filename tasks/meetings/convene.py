"""Convening a joint meeting: the meeting and its agenda into the warehouse, nothing sent yet.

Convening is idempotent and is also how a meeting is moved or brought up to date:

- regular: the community's one regular meeting of the period `starts_at` falls in (default:
  the next regular slot after the minimum notice);
- adhoc: the community's pending ad-hoc meeting if one is still to come, else a new one at
  `starts_at` (default: the earliest office slot after the minimum notice).

A new meeting gets the cases that qualify (agenda.select_items), the most pressing first, up to
`agenda_cases_max`; the others wait for the next meeting (`Convened.waiting`). An existing one
is moved when `starts_at` differs, and gains the cases that qualify now and are not on it yet,
while it has room (appended: the units already have the numbered agenda); either change bumps its SEQUENCE, and the
invitations go out again. No change, nothing to send. A held or cancelled meeting is not
touched: an ad-hoc meeting is called instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from liandong.clock import local, naive_utc, resolve_as_of
from liandong.roster import Community, Roster
from liandong.workdays import WorkCalendar
from tasks.meetings.agenda import TERM_REPORT, Selected, closes_chair_term, select_items
from tasks.meetings.chair import chair_term
from tasks.meetings.schedule import (
    adhoc_meeting_id,
    check_notice,
    earliest_adhoc_start,
    earliest_start,
    next_regular_start,
    regular_meeting_id,
)
from liandong.settings import MeetingSettings
from warehouse.store import Warehouse

Kind = Literal["regular", "adhoc"]
Outcome = Literal["created", "moved", "updated", "unchanged"]


class MeetingClosed(ValueError):
    """The meeting was held or cancelled already; the message is bilingual."""


@dataclass(frozen=True)
class Convened:
    meeting_id: str
    community_id: str
    outcome: Outcome
    sequence: int
    starts_at: datetime  # aware, Asia/Shanghai
    items_added: int
    waiting: int = 0  # cases that qualify but found the agenda full


def convene(wh: Warehouse, roster: Roster, calendar: WorkCalendar, settings: MeetingSettings, community_id: str,
            kind: Kind, starts_at: datetime | None, as_of: datetime) -> Convened:
    """Raises KeyError (unknown community), MeetingTooSoon, MeetingClosed, CalendarYearNotCovered."""
    community, as_of = roster.community(community_id), resolve_as_of(as_of)
    meeting_id, starts_at, existing = _target(wh, roster, calendar, settings, community, kind,
                                              starts_at and resolve_as_of(starts_at), as_of)
    if existing and existing["status"] != "scheduled":
        raise _closed(existing, "请改开临时会议 / call an ad-hoc meeting instead")
    moved = existing is None or naive_utc(starts_at) != existing["starts_at"]
    if moved:
        check_notice(roster.policy, starts_at, as_of)
    on_agenda = _agenda_cases(wh, meeting_id)
    room = max(settings.agenda_cases_max - sum(c != TERM_REPORT for c in on_agenda), 0)
    new, waiting = select_items(wh, roster, calendar, settings, community, kind, starts_at, as_of, on_agenda, room)
    if kind == "regular" and TERM_REPORT not in on_agenda and closes_chair_term(community, starts_at):
        new.append(Selected(None, TERM_REPORT, None))
    if existing and not moved and not new:
        return Convened(meeting_id, community.id, "unchanged", existing["sequence"], starts_at, 0, waiting)
    sequence = 0 if existing is None else existing["sequence"] + 1
    with wh.transaction():
        _write_meeting(wh, settings, community, meeting_id, kind, starts_at, sequence, existing, naive_utc(as_of))
        _append_items(wh, meeting_id, new, first=len(on_agenda) + 1)
    outcome: Outcome = "created" if existing is None else "moved" if moved else "updated"
    return Convened(meeting_id, community.id, outcome, sequence, starts_at, len(new), waiting)


def _target(wh: Warehouse, roster: Roster, calendar: WorkCalendar, settings: MeetingSettings, community: Community,
            kind: Kind, starts_at: datetime | None, as_of: datetime) -> tuple[str, datetime, dict[str, Any] | None]:
    """(meeting id, start, its row if it exists) of the meeting to convene."""
    if kind == "regular":
        starts_at = starts_at or next_regular_start(calendar, settings, community,
                                                    earliest_start(roster.policy, as_of))
        meeting_id = regular_meeting_id(community, starts_at)
        return meeting_id, starts_at, _meeting(wh, meeting_id)
    pending = wh.rows("SELECT * FROM meetings WHERE community_id = ? AND kind = 'adhoc' AND status = 'scheduled' "
                      "AND starts_at > ? ORDER BY starts_at LIMIT 1", [community.id, naive_utc(as_of)])
    if pending:
        return pending[0]["meeting_id"], starts_at or local(pending[0]["starts_at"]), pending[0]
    starts_at = starts_at or earliest_adhoc_start(calendar, roster.policy, settings, as_of)
    meeting_id = adhoc_meeting_id(community, starts_at)
    return meeting_id, starts_at, _meeting(wh, meeting_id)


def _meeting(wh: Warehouse, meeting_id: str) -> dict[str, Any] | None:
    rows = wh.rows("SELECT * FROM meetings WHERE meeting_id = ?", [meeting_id])
    return rows[0] if rows else None


def _agenda_cases(wh: Warehouse, meeting_id: str) -> list[str]:
    """The agenda's items in order, by case id (the term report by its kind)."""
    return [r[0] for r in wh.execute("SELECT coalesce(case_id, item_kind) FROM agenda_items WHERE meeting_id = ? "
                                     "ORDER BY position", [meeting_id]).fetchall()]


def _write_meeting(wh: Warehouse, settings: MeetingSettings, community: Community, meeting_id: str, kind: Kind,
                   starts_at: datetime, sequence: int, existing: dict[str, Any] | None, now: datetime) -> None:
    term = chair_term(community, local(starts_at).date())
    values = {"starts_at": naive_utc(starts_at),
              "ends_at": naive_utc(starts_at + timedelta(minutes=settings.duration_minutes)),
              "chair_unit_id": term.unit_id if term else None, "sequence": sequence, "updated_at": now}
    if existing:
        wh.execute("UPDATE meetings SET starts_at = $starts_at, ends_at = $ends_at, chair_unit_id = $chair_unit_id, "
                   "sequence = $sequence, updated_at = $updated_at WHERE meeting_id = $meeting_id",
                   {**values, "meeting_id": meeting_id})
        return
    wh.append("meetings", [{**values, "meeting_id": meeting_id, "community_id": community.id, "kind": kind,
                            "status": "scheduled", "link": settings.link(meeting_id, community.id),
                            "created_at": now}])


def _append_items(wh: Warehouse, meeting_id: str, items: list[Selected], first: int) -> None:
    wh.append("agenda_items", [
        {"meeting_id": meeting_id, "position": first + n, "case_id": item.case_id, "item_kind": item.item_kind,
         "proposed_decision": item.proposal.model_dump_json() if item.proposal else None}
        for n, item in enumerate(items)])


def cancel_meeting(wh: Warehouse, meeting_id: str, reason: str, as_of: datetime) -> int:
    """Cancels a meeting still to be held and returns its new SEQUENCE (the CANCEL carries it).
    Its cases are not touched: they wait for the next meeting. Raises KeyError, MeetingClosed."""
    meeting = _meeting(wh, meeting_id)
    if meeting is None:
        raise KeyError(f"没有这次会议 / no such meeting: {meeting_id}")
    if meeting["status"] != "scheduled":
        raise _closed(meeting, "无法取消 / it cannot be cancelled")
    sequence = meeting["sequence"] + 1
    wh.execute("UPDATE meetings SET status = 'cancelled', cancel_reason = ?, sequence = ?, updated_at = ? "
               "WHERE meeting_id = ?", [reason, sequence, naive_utc(as_of), meeting_id])
    return sequence


def _closed(meeting: dict[str, Any], what_now: str) -> MeetingClosed:
    done = "召开" if meeting["status"] == "held" else "取消"
    return MeetingClosed(f"会议 {meeting['meeting_id']} 已{done} / meeting {meeting['meeting_id']} was "
                         f"{meeting['status']} already: {what_now}")
