"""The demo's meeting secretary: after each joint meeting the simulated weeks held, she files the
minutes as a YAML file — the agenda's proposed decisions as the meeting confirmed them, with the
units that sent their apologies — and the file goes through flow `record-meeting-decisions`, as
a coordinator doing batch entry would. The files are written from the agenda the warehouse holds,
so they always name the meeting and the cases that were really on it (var/minutes/)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml

from liandong.clock import naive_utc
from liandong.resources import Resources
from liandong.settings import Settings
from tasks.meetings.agenda import Agenda, load_agenda
from tasks.meetings.minutes import ItemDecision

# Apologies the demo's meetings received: the first of these units on a meeting's roll is absent.
APOLOGIES = ("market-zsl", "dilang-tech", "amberline")
CONFIRMED = "会议同意议程建议 / the meeting confirmed the agenda's proposal"


def held_meetings(settings: Settings, as_of: datetime) -> list[str]:
    """Meetings that have started by `as_of` and have no decisions recorded yet."""
    with Resources(settings).warehouse() as wh:
        return [r["meeting_id"] for r in wh.rows(
            "SELECT meeting_id FROM meetings WHERE status = 'scheduled' AND starts_at < ? ORDER BY starts_at",
            [naive_utc(as_of)])]


def write_minutes(settings: Settings, meeting_id: str, as_of: datetime) -> Path:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        agenda = load_agenda(wh, resources.roster, meeting_id, as_of)
    path = settings.home / "minutes" / f"{meeting_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_header(agenda) + yaml.safe_dump(_minutes(agenda), allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def _minutes(agenda: Agenda) -> dict:
    absent = next((u for u in APOLOGIES if u in agenda.units), None)
    decisions = []
    for item in agenda.case_items:
        proposal = item.proposal or ItemDecision(case_id=item.case_id, decision="noted")
        decision = proposal.model_dump(mode="json", exclude_defaults=True)
        decision.setdefault("reason", CONFIRMED)
        decisions.append(decision)
    return {"meeting_id": agenda.meeting_id, "present_units": [u for u in agenda.units if u != absent],
            "decisions": decisions}


def _header(agenda: Agenda) -> str:
    kind = "临时会议 / ad-hoc" if agenda.kind == "adhoc" else "例会 / regular"
    return (f"# {agenda.community_name} 联席会议纪要（{kind}，{agenda.starts_at:%Y-%m-%d %H:%M}）\n"
            f"# Minutes filed by the demo's secretary from the agenda (demo/minutes.py).\n")
