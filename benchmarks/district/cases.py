"""The district's open cases, as the earlier nights left them, built column by column and landed
through Arrow into the real schema (migrations from `open_warehouse`): cases, their events,
assignments, the notices already sent (so tonight does not send them again), the chasing
ledger of rungs sent on earlier nights, look-backs and claim offers.

Every open state is there: new and triaged cases not yet routed, claim-listed, waiting for a
joint meeting, notified leads inside and past their acceptance window, accepted leads with
deadlines from eight working days past to nine ahead (so tonight has reminders, due-today,
overdue and escalation rungs, and the deadlines straddle the Mid-Autumn and National Day
holidays), reopened cases, and resolved cases whose look-back is scheduled, due, asked, reminded
or answered and not yet acted on.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa

from liandong.clock import SHANGHAI, naive_utc
from liandong.roster import Roster
from liandong.workdays import END_OF_DAY, WorkCalendar
from tasks.chase.ladder import rungs_tonight
from tasks.roster.sync import sync_roster
from warehouse.store import Warehouse

URGENCIES = [("normal", 0.80), ("high", 0.12), ("urgent", 0.03), ("low", 0.05)]
# Share of the open cases in each state (the rest: resolved, waiting for the look-back).
STATES = [("new", 0.005), ("triaged", 0.01), ("claim_listed", 0.01), ("needs_meeting", 0.002),
          ("notified", 0.04), ("notified_expired", 0.02), ("in_progress", 0.60), ("reopened", 0.01)]
LOOKBACK_STATES = [("scheduled", 0.45), ("scheduled_due", 0.08), ("asked", 0.27), ("reminded", 0.12),
                   ("answered", 0.08)]


def pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    x = rng.random()
    for value, share in weighted:
        if x < share:
            return value
        x -= share
    return "resolved"


@dataclass
class Columns:
    """One table's rows as columns; missing values are None."""

    names: tuple[str, ...]
    data: dict[str, list[Any]] = field(default_factory=dict)
    n: int = 0

    def add(self, **row: Any) -> None:
        if not self.data:
            self.data = {name: [] for name in self.names}
        for name in self.names:
            self.data[name].append(row.get(name))
        self.n += 1

    def table(self) -> pa.Table:
        return pa.table({name: self.data.get(name, []) for name in self.names})


CASE_COLS = ("case_id", "source", "source_ref", "channel", "received_at", "title", "description", "category",
             "urgency", "community_id", "grid_id", "address", "reporter_name", "reporter_phone", "status",
             "lead_unit_id", "due_at", "created_at", "updated_at")
EVENT_COLS = ("case_id", "occurred_at", "actor", "kind", "from_status", "to_status", "assignment_id", "unit_id",
              "reason", "run_id")
ASSIGNMENT_COLS = ("assignment_id", "case_id", "unit_id", "role", "state", "candidate_rank", "accept_by", "due_at",
                   "responded_at", "created_at", "updated_at", "done_at", "deadline_set_at")
MESSAGE_COLS = ("message_id", "idempotency_key", "purpose", "case_id", "assignment_id", "unit_id", "to_addrs",
                "subject", "raw", "state", "attempts", "created_at", "sent_at", "updated_at", "mail_from",
                "first_attempt_at")
LOOKBACK_COLS = ("lookback_id", "case_id", "due_at", "contact_email", "state", "fixed", "satisfaction", "asked_at",
                 "answered_at", "created_at", "updated_at", "reminded_at", "answer_note")
CHASE_COLS = ("assignment_id", "rung", "due_at", "case_id", "unit_id", "community_id", "message_keys", "noticed_at",
              "run_id")
OFFER_COLS = ("case_id", "unit_id", "offered_at", "claim_by", "state")


@dataclass
class Existing:
    """What the generator built, for the reply writer: live assignments and asked look-backs."""

    notified_leads: list[dict[str, str]] = field(default_factory=list)
    accepted_leads: list[dict[str, str]] = field(default_factory=list)
    asked_lookbacks: list[dict[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class Workdays:
    """Working days around tonight, by offset: 0 is today, -1 the working day before."""

    def __init__(self, calendar: WorkCalendar, today: date):
        self.calendar = calendar
        days = [today - timedelta(days=d) for d in range(1, 120)]
        self.before = [d for d in days if calendar.is_workday(d)]
        self.today = today

    def at(self, offset: int) -> date:
        if offset >= 0:
            return self.calendar.add_workdays(self.today, offset)
        return self.before[-offset - 1]


def end_of(day: date) -> datetime:
    return naive_utc(datetime.combine(day, END_OF_DAY, SHANGHAI))


def build_cases(wh: Warehouse, roster: Roster, calendar: WorkCalendar, as_of: datetime, count: int,
                seed: int, mail_domain: str = "community.example.cn") -> Existing:
    rng = random.Random(seed * 1_000_003 + 1)
    now = naive_utc(as_of)
    today = as_of.astimezone(SHANGHAI).date()
    days = Workdays(calendar, today)
    policy = roster.policy
    rules = {r.category: r for r in roster.routing_rules if r.community == "*"}
    serving: dict[tuple[str, str], list[str]] = defaultdict(list)
    claimable: dict[tuple[str, str], list[str]] = defaultdict(list)
    contacts = {u.id: [c.email for c in u.contacts] for u in roster.units}
    for u in roster.units:
        for c in u.communities:
            serving[(c, u.kind)].append(u.id)
            for cat in u.capabilities:
                claimable[(c, cat)].append(u.id)
    categories = [c.id for c in roster.categories]
    keywords = {c.id: c.keywords for c in roster.categories}
    communities = roster.communities

    cases, events, assignments, messages = Columns(CASE_COLS), Columns(EVENT_COLS), Columns(ASSIGNMENT_COLS), \
        Columns(MESSAGE_COLS)
    lookbacks, ledger, offers = Columns(LOOKBACK_COLS), Columns(CHASE_COLS), Columns(OFFER_COLS)
    out = Existing()
    states: dict[str, int] = defaultdict(int)

    def event(case_id: str, at: datetime, kind: str, f: str | None, t: str | None, aid: str | None = None,
              unit: str | None = None, actor: str = "system") -> None:
        events.add(case_id=case_id, occurred_at=at, actor=actor, kind=kind, from_status=f, to_status=t,
                   assignment_id=aid, unit_id=unit, run_id="district-history")

    def assign(case_id: str, n: int, unit: str, role: str, state: str, at: datetime, accept_by: datetime,
               due: datetime | None, rank: int = 0, responded: datetime | None = None,
               done: datetime | None = None) -> str:
        aid = f"{case_id}/{n}"
        assignments.add(assignment_id=aid, case_id=case_id, unit_id=unit, role=role, state=state, candidate_rank=rank,
                        accept_by=accept_by, due_at=due, responded_at=responded, created_at=at,
                        updated_at=responded or at, done_at=done, deadline_set_at=at)
        mid = f"district-{aid.replace('/', '-')}@{mail_domain}"
        messages.add(message_id=mid, idempotency_key=f"assignment:{aid}", purpose="assignment", case_id=case_id,
                     assignment_id=aid, unit_id=unit, to_addrs=", ".join(contacts[unit]),
                     subject=f"[{case_id}] 交办通知", raw=b"(sent on an earlier night)", state="sent", attempts=1,
                     created_at=at, sent_at=at, updated_at=at, mail_from=f"liandong@{mail_domain}",
                     first_attempt_at=at)
        event(case_id, at, "assigned" if role == "lead" else "support_assigned", None, None, aid, unit)
        return aid

    for i in range(1, count + 1):
        case_id = f"LD-{today.year}-{i:06d}"
        community = rng.choice(communities)
        grid = rng.choice(community.grids)
        state = pick(rng, STATES)
        category = "elderly_care" if state == "claim_listed" else rng.choice(categories)
        urgency = "urgent" if state == "needs_meeting" else pick(rng, URGENCIES)
        address = f"{rng.choice(grid.addresses)}{rng.randint(1, 300)}号"
        keyword = rng.choice(keywords[category]) if keywords[category] else category
        received = now - timedelta(days=rng.uniform(1, 60))
        # Accepted work: its deadline `offset` working days from today, set ten working days before.
        offset = rng.randint(-8, 9)
        due_day, set_day = days.at(offset), days.at(offset - 10)
        assigned_at = min(received + timedelta(hours=2), end_of(set_day) - timedelta(hours=12))
        if state in ("in_progress", "reopened"):
            received = min(received, assigned_at - timedelta(hours=2))
        cases.add(case_id=case_id, source="drop:12345热线", source_ref=f"H{seed}-{i:07d}", channel="12345热线",
                  received_at=received, title=f"{address}{keyword}问题", description=f"居民反映{address}附近{keyword}，请尽快处理。",
                  category=None if state == "new" else category, urgency=urgency, community_id=community.id,
                  grid_id=grid.id, address=address, reporter_name="居民", reporter_phone=f"13{rng.randrange(10**9):09d}",
                  status={"notified": "assigned", "notified_expired": "assigned"}.get(state, state),
                  created_at=received, updated_at=received)
        event(case_id, received, "received", None, "new")
        if state == "new":
            states[state] += 1
            continue
        event(case_id, received + timedelta(minutes=5), "triaged", "new", "triaged")
        rule = rules.get(category)
        leads = (serving[(community.id, rule.lead[5:])] if rule and rule.lead.startswith("kind:")
                 else claimable[(community.id, category)]) or claimable[(community.id, category)]
        supports = [u for s in (rule.support if rule else []) for u in serving[(community.id, s[5:])][:1]]
        if state in ("triaged",) or not leads:
            states["triaged"] += 1
            cases.data["status"][-1] = "triaged"
            continue
        if state == "claim_listed":
            for unit in claimable[(community.id, category)][:3]:
                offers.add(case_id=case_id, unit_id=unit, offered_at=received + timedelta(hours=1),
                           claim_by=now + timedelta(days=rng.choice([-1, 1, 2])), state="open")
            event(case_id, received + timedelta(hours=1), "claim_listed", "triaged", "claim_listed")
            states[state] += 1
            continue
        lead = rng.choice(leads)
        cases.data["lead_unit_id"][-1] = lead
        if state == "needs_meeting":
            aid = assign(case_id, 1, lead, "lead", "declined", received + timedelta(hours=1),
                         received + timedelta(hours=5), None, responded=received + timedelta(hours=3))
            event(case_id, received + timedelta(hours=3), "declined", None, None, aid, lead, f"unit:{lead}")
            event(case_id, received + timedelta(hours=4), "needs_meeting", "assigned", "needs_meeting")
            states[state] += 1
            continue
        if state in ("notified", "notified_expired"):
            at = now - timedelta(hours=rng.uniform(2, 20)) if state == "notified" else now - timedelta(days=2)
            accept_by = now + timedelta(hours=rng.uniform(4, 30)) if state == "notified" else now - timedelta(hours=8)
            due = end_of(calendar.add_workdays(today, 10))
            aid = assign(case_id, 1, lead, "lead", "notified", at, accept_by, due)
            chosen = [s for s in supports if s != lead and rng.random() < 0.3]
            for n, unit in enumerate(chosen, start=2):  # numbered in order, as routing numbers them
                assign(case_id, n, unit, "support", "notified", at, accept_by, due)
            cases.data["due_at"][-1] = due
            if state == "notified":
                out.notified_leads.append({"case_id": case_id, "assignment_id": aid, "unit_id": lead,
                                           "contact": contacts[lead][0]})
            states[state] += 1
            continue
        # Accepted leads: in progress, reopened or (done and) resolved.
        due = end_of(due_day)
        responded = assigned_at + timedelta(hours=3)
        lead_state = "accepted" if state in ("in_progress", "reopened") else "done_reported"
        done_at = None if lead_state == "accepted" else now - timedelta(days=rng.uniform(1, 45))
        if done_at is not None:
            assigned_at, responded = done_at - timedelta(days=8), done_at - timedelta(days=7)
            due = end_of((done_at + timedelta(days=3)).date())
        aid = assign(case_id, 1, lead, "lead", lead_state, assigned_at, assigned_at + timedelta(days=1), due,
                     responded=responded, done=done_at)
        event(case_id, responded, "accepted", "assigned", "in_progress", aid, lead, f"unit:{lead}")
        chosen = [s for s in supports if s != lead and rng.random() < 0.3]
        for n, unit in enumerate(chosen, start=2):
            assign(case_id, n, unit, "support", "accepted", assigned_at, assigned_at + timedelta(days=1), due,
                   responded=responded)
        cases.data["due_at"][-1] = due
        if state in ("in_progress", "reopened"):
            if state == "reopened":
                event(case_id, assigned_at + timedelta(hours=1), "reopened", "resolved", "reopened", aid, lead)
            out.accepted_leads.append({"case_id": case_id, "assignment_id": aid, "unit_id": lead,
                                       "contact": contacts[lead][0]})
            # The rungs earlier nights sent for this deadline, each once.
            sent: set[str] = set()
            for back in range(min(12, len(days.before)), 0, -1):
                night = days.at(-back)
                if night <= set_day:
                    continue
                rungs = rungs_tonight(calendar, policy, night, due_day, set_day)
                for rung in {rungs.unit, "escalation" if rungs.escalation else None} - {None} - sent:
                    sent.add(rung)
                    ledger.add(assignment_id=aid, rung=rung, due_at=due, case_id=case_id, unit_id=lead,
                               community_id=community.id, message_keys=f"history:{aid}:{rung}",
                               noticed_at=naive_utc(datetime.combine(night, datetime.min.time(), SHANGHAI)),
                               run_id="district-history")
            states[state] += 1
            continue
        event(case_id, done_at, "done_reported", "in_progress", "resolved", aid, lead, f"unit:{lead}")
        event(case_id, done_at, "lookback_scheduled", None, None)
        look = pick(rng, LOOKBACK_STATES)
        due_lb = done_at + timedelta(days=policy.lookback_calendar_days)
        asked = reminded = answered = None
        worker = grid.worker.email if grid.worker else None
        if look == "scheduled_due" or look in ("asked", "reminded", "answered"):
            due_lb = now - timedelta(days=rng.uniform(0.1, 3 if look == "scheduled_due" else 10))
        if look in ("asked", "reminded", "answered"):
            asked = end_of(days.at(-rng.randint(0, 6))) - timedelta(hours=14)
        if look == "reminded":
            reminded = end_of(days.at(-rng.randint(0, 5))) - timedelta(hours=14)
            asked = min(asked, reminded - timedelta(days=3))
        if look == "answered":
            answered = now - timedelta(hours=rng.uniform(1, 20))
        lookbacks.add(lookback_id=f"{case_id}/L1", case_id=case_id, due_at=due_lb,
                      contact_email=worker if asked else None, state=look.replace("scheduled_due", "scheduled"),
                      fixed=(rng.random() < 0.85) if answered else None,
                      satisfaction=rng.choice(["satisfied", "basically_satisfied", "dissatisfied"]) if answered else None,
                      asked_at=asked, answered_at=answered, created_at=done_at, updated_at=answered or reminded or asked
                      or done_at, reminded_at=reminded, answer_note="已解决" if answered else None)
        if look in ("asked", "reminded"):
            out.asked_lookbacks.append({"case_id": case_id, "lookback_id": f"{case_id}/L1", "contact": worker or
                                        community.coordinator.email})
        states[f"resolved_{look}"] += 1

    sync_roster(wh, roster)
    with wh.transaction():
        for table, columns in (("cases", cases), ("case_events", events), ("assignments", assignments),
                               ("messages", messages), ("lookbacks", lookbacks), ("chase_notices", ledger),
                               ("claim_offers", offers)):
            wh.append(table, columns.table())
            out.counts[table] = columns.n
    out.counts.update({f"state_{k}": v for k, v in sorted(states.items())})
    return out
