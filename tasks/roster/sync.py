"""The roster file is the source of truth; its dimension tables in the warehouse are replaced
at the start of every run so SQL (KPIs, routing load) can join on them."""

from __future__ import annotations

from liandong.roster import Roster
from warehouse.store import Warehouse

DIMENSIONS = ("communities", "grids", "units", "unit_communities", "unit_capabilities", "contacts")


def sync_roster(wh: Warehouse, roster: Roster) -> dict[str, int]:
    tables = {
        "communities": [{"community_id": c.id, "name": c.name, "coordinator_email": c.coordinator.email,
                         "meeting_cadence": c.meeting_cadence} for c in roster.communities],
        "grids": [{"grid_id": g.id, "community_id": c.id, "name": g.name,
                   "worker_email": g.worker.email if g.worker else None}
                  for c in roster.communities for g in c.grids],
        "units": [{"unit_id": u.id, "name": u.name, "kind": u.kind, "capacity": u.capacity, "locale": u.locale}
                  for u in roster.units],
        "unit_communities": [{"unit_id": u.id, "community_id": c} for u in roster.units for c in u.communities],
        "unit_capabilities": [{"unit_id": u.id, "category": c} for u in roster.units for c in u.capabilities],
        "contacts": [{"email": p.email, "unit_id": u.id, "name": p.name, "role": p.role, "locale": p.locale}
                     for u in roster.units for p in u.contacts],
    }
    with wh.transaction():
        for table in DIMENSIONS:
            wh.execute(f"DELETE FROM {table}")
            wh.append(table, tables[table])
    return {t: len(rows) for t, rows in tables.items()}
