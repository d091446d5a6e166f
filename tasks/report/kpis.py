"""The quarter's KPIs, computed in DuckDB by the queries in warehouse/queries/kpi_*.sql.

`compute_kpis` materialises temporary tables on the connection: `kpi_items` (one row per counted
item, for the report's quarter and the trend quarters before it, so the events are scanned
once), `kpi_quarter_items` (the report quarter's items with their case's dimensions) and
`kpi_table` (the KPIs by quarter and dimension); the scorecard, meeting and notable-case
queries read those. Working-day spans join `kpi_workdays`, one row per calendar
day with the running count of working days, built from the work calendar: a span is a
subtraction, never a Python loop per case. docs/kpis.md defines every figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate, groupby
from datetime import date
from typing import Any

import pyarrow as pa

from liandong.settings import ReportSettings
from liandong.workdays import WorkCalendar
from tasks.mail.privacy import redact
from tasks.report.quarters import Quarter
from warehouse.store import Warehouse, load_query

RATES = ("response_rate", "on_time_rate", "resolution_rate", "satisfaction_rate")


@dataclass
class QuarterlyKpis:
    quarter: str
    community: str | None
    quarters: list[str]  # the trend, oldest first, ending with `quarter`
    columns: list[str]  # of kpi_by_dimension.sql
    table: list[dict[str, Any]]  # kpi_by_dimension.sql for every quarter in `quarters`
    scorecard: list[dict[str, Any]]  # kpi_unit_scorecard.sql over the report's scope
    community_scorecards: dict[str, list[dict[str, Any]]]  # the same within each community
    meetings: list[dict[str, Any]] = field(default_factory=list)
    notable: list[dict[str, Any]] = field(default_factory=list)  # reporter data masked
    evaluations: list[dict[str, Any]] = field(default_factory=list)

    def rows(self, dimension: str, quarter: str | None = None) -> list[dict[str, Any]]:
        quarter = quarter or self.quarter
        return [r for r in self.table if r["quarter"] == quarter and r["dimension"] == dimension]

    def overall(self, quarter: str | None = None) -> dict[str, Any]:
        """The scope's totals of a quarter; a quarter without any item has zero counts."""
        found = self.rows("all", quarter)
        return found[0] if found else _empty_row(quarter or self.quarter, self.columns)

    def trend(self) -> list[dict[str, Any]]:
        return [self.overall(q) for q in self.quarters]

    def red_list(self) -> list[dict[str, Any]]:
        return [r for r in self.scorecard if r["list"] == "red"]

    def yellow_list(self) -> list[dict[str, Any]]:
        return sorted((r for r in self.scorecard if r["list"] == "yellow"), key=lambda r: -r["rank"])


def compute_kpis(wh: Warehouse, calendar: WorkCalendar, quarter: Quarter, community: str | None,
                 options: ReportSettings) -> QuarterlyKpis:
    first = quarter.previous(options.trend_quarters)
    prepare_session(wh, calendar)
    wh.execute("CREATE OR REPLACE TEMP TABLE kpi_items AS " + load_query("kpi_items"), {
        "from": first.start_utc, "to": quarter.end_utc, "community": community,
        "extensions": options.extensions_move_deadline,
    })
    wh.execute("CREATE OR REPLACE TEMP TABLE kpi_quarter_items AS " + load_query("kpi_quarter_items"),
               {"quarter": quarter.index})
    wh.execute("CREATE OR REPLACE TEMP TABLE kpi_table AS " + load_query("kpi_by_dimension"), {
        "basically": options.basically_satisfied_counts, "rated_base": options.satisfaction_base == "rated",
    })
    cards = scorecards(wh, quarter, options)
    kpis = QuarterlyKpis(
        quarter=quarter.label, community=community,
        quarters=[quarter.previous(n).label for n in range(options.trend_quarters, -1, -1)],
        columns=[d[0] for d in wh.execute("SELECT * FROM kpi_table LIMIT 0").description],
        table=wh.rows("SELECT * FROM kpi_table"),
        scorecard=[c for c in cards if c["community_id"] is None],
        community_scorecards={k: list(g) for k, g in groupby((c for c in cards if c["community_id"]),
                                                               key=lambda c: c["community_id"])},
    )
    kpis.meetings = wh.query("kpi_meetings", {"from": quarter.start_utc, "to": quarter.end_utc,
                                              "community": community})
    kpis.notable = [_masked(r) for r in wh.query("kpi_notable_cases", {"limit": options.notable_cases})]
    kpis.evaluations = [redact(e) for e in wh.query("evaluations_of_period", {
        "periods": [str(quarter.year), quarter.label], "community": community})]
    return kpis


class KeyCollision(Exception):
    """Two case or assignment ids share the hash the KPI queries key them by; bilingual."""


def prepare_session(wh: Warehouse, calendar: WorkCalendar) -> None:
    """The macros and the working-day table the KPI queries need, on this connection."""
    if collisions := wh.query("kpi_keys")[0]["collisions"]:
        raise KeyCollision(
            f"{collisions} 个案件或交办编号的哈希值重复，指标会合并它们的记录，请联系维护人员 / "
            f"{collisions} case or assignment ids share a hash; the KPIs would merge their histories:"
            f" tell the maintainers")
    wh.execute(load_query("kpi_session"))
    wh.con.register("kpi_workdays", workday_table(calendar))


def workday_table(calendar: WorkCalendar) -> pa.Table:
    """Every day of the calendar's covered years with n = working days from the first day up to
    it: the working days in (a, b] are n(b) - n(a). Days outside the covered years have no row,
    so a span that reaches one is NULL rather than a guess."""
    years = calendar.covered_years()
    first, last = date(years.start, 1, 1).toordinal(), date(years.stop - 1, 12, 31).toordinal()
    days = [date.fromordinal(o) for o in range(first, last + 1)]
    running = list(accumulate(int(calendar.is_workday(d)) for d in days))
    return pa.table({"day": pa.array(days, pa.date32()), "n": pa.array(running, pa.int32())})


def scorecards(wh: Warehouse, quarter: Quarter, options: ReportSettings) -> list[dict[str, Any]]:
    """Every unit's card over the report's cases (community_id None), then within each community."""
    weights = options.score_weights
    return wh.query("kpi_unit_scorecard", {
        "quarter": quarter.label, "min_cases": options.min_cases_ranked,
        "list_size": options.list_size, "w_response": weights.response, "w_on_time": weights.on_time,
        "w_resolution": weights.resolution, "w_satisfaction": weights.satisfaction,
    })


def _masked(row: dict[str, Any]) -> dict[str, Any]:
    clean = redact(row)
    return {k: v for k, v in clean.items() if k not in ("reporter_name", "reporter_phone")}


def _empty_row(quarter: str, columns: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {c: 0 for c in columns}
    row.update({c: None for c in columns if c in RATES or c.endswith(("_median", "_p90"))})
    row.update(quarter=quarter, dimension="all", key=None, community_id=None)
    return row
