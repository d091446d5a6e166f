"""Choosing the owning units of a case: routing rules first, then the resource list, ordered by
open load against capacity, with the recent on-time record as the tie-breaker."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from liandong.roster import Roster, RoutingRule

NO_HISTORY = 0.5  # a unit with no finished cases yet is neither rewarded nor punished


@dataclass(frozen=True)
class UnitStats:
    open_load: int = 0
    done_recent: int = 0
    on_time_recent: int = 0

    @property
    def on_time(self) -> float:
        return self.on_time_recent / self.done_recent if self.done_recent else NO_HISTORY


@dataclass(frozen=True)
class Candidate:
    unit_id: str
    why: str  # rule | resource_list
    capable: bool
    open_load: int
    capacity: int
    on_time: float

    @property
    def full(self) -> bool:
        return self.open_load >= self.capacity

    def sort_key(self) -> tuple:
        load = self.open_load / self.capacity if self.capacity else float("inf")
        return (self.why != "rule", self.full, not self.capable, round(load, 3), -self.on_time, self.unit_id)

    def as_detail(self) -> dict:
        return {**asdict(self), "on_time": round(self.on_time, 3)}


@dataclass(frozen=True)
class Route:
    rule: RoutingRule | None
    rule_index: int | None
    leads: list[Candidate]  # ranked: the first is the lead, the rest are the re-routing order
    supports: list[str]


class Router:
    def __init__(self, roster: Roster, stats: dict[str, UnitStats]):
        self.roster = roster
        self.stats = stats
        self.units = {u.id: u for u in roster.units}

    def rule_for(self, category: str, community: str) -> tuple[int | None, RoutingRule | None]:
        """A community's own rule beats the rule for every community (`*`)."""
        matches = [(i, r) for i, r in enumerate(self.roster.routing_rules) if r.category == category]
        own = [(i, r) for i, r in matches if r.community == community]
        general = [(i, r) for i, r in matches if r.community == "*"]
        return (own or general or [(None, None)])[0]

    def serving(self, community: str) -> list[str]:
        return [u.id for u in self.roster.units if community in u.communities]

    def resolve(self, target: str, community: str) -> list[str]:
        if target.startswith("kind:"):
            return [u for u in self.serving(community) if self.units[u].kind == target[5:]]
        return [target] if target in self.units else []

    def candidate(self, unit_id: str, why: str, category: str) -> Candidate:
        unit, stats = self.units[unit_id], self.stats.get(unit_id, UnitStats())
        return Candidate(unit_id, why, category in unit.capabilities, stats.open_load, unit.capacity, stats.on_time)

    def route(self, category: str, community: str) -> Route:
        index, rule = self.rule_for(category, community)
        by_rule = self.resolve(rule.lead, community) if rule else []
        capable = [u for u in self.serving(community) if category in self.units[u].capabilities and u not in by_rule]
        leads = sorted([self.candidate(u, "rule", category) for u in by_rule]
                       + [self.candidate(u, "resource_list", category) for u in capable],
                       key=Candidate.sort_key)
        supports: list[str] = []
        if rule:
            for target in rule.support:
                # A kind names the least loaded unit of that kind in the community.
                units = sorted(self.resolve(target, community), key=lambda u: self.candidate(u, "rule", category).sort_key())
                supports += [u for u in units[:1] if u not in supports]
        lead = leads[0].unit_id if leads and rule else None
        return Route(rule, index, leads, [u for u in supports if u != lead])
