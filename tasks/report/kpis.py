"""The quarter's KPIs, computed in DuckDB by the queries in warehouse/queries/kpi_*.sql.

`compute_kpis` materialises temporary tables on the connection: `kpi_items` (one row per counted
item, for the report's quarter and any trend quarter not yet published, so the events are
scanned once), `kpi_quarter_items` (the report quarter's items with their case's dimensions) and
`kpi_table` (the KPIs by quarter and dimension); the scorecard, meeting and notable-case queries
read those. Working-day spans join `kpi_workdays`, one row per calendar day with the running
count of working days, built from the work calendar: a span is a subtraction, never a Python
loop per case.

A quarter's figures use only events before its end, so the trend takes the previous quarters as
they were published (`kpi_quarters`, written by `publish_quarters`) and derives only the missing
ones again. The digest names everything the figures depend on (the settings that change them,
the text of the KPI queries, the calendar): change any of them and the trend is recomputed.
docs/kpis.md defines every figure.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import accumulate, groupby
from typing import Any

import pyarrow as pa

from liandong.clock import naive_utc
from liandong.settings import ReportSettings
from liandong.workdays import WorkCalendar
from tasks.mail.privacy import redact
from tasks.report.quarters import Quarter
from warehouse.store import Warehouse, load_query

RATES = ("response_rate", "on_time_rate", "resolution_rate", "satisfaction_rate")
FIGURE_QUERIES = ("kpi_session", "kpi_items", "kpi_by_dimension")


@dataclass
class QuarterlyKpis:
    quarter: str
    community: str | None
    quarters: list[str]  # the trend, oldest first, ending with `quarter`
    columns: list[str]  # of kpi_by_dimension.sql
    table: list[dict[str, Any]]  # kpi_by_dimension.sql: totals of the quarters computed, breakdowns of `quarter`
    scorecard: list[dict[str, Any]]  # kpi_unit_scorecard.sql over the report's scope
    community_scorecards: dict[str, list[dict[str, Any]]]  # the same within each community
    published: dict[str, dict[str, Any]] = field(default_factory=dict)  # totals of earlier quarters as reported
    computed: list[str] = field(default_factory=list)  # the quarters this run derived from the events
    digest: str = ""
    meetings: list[dict[str, Any]] = field(default_factory=list)
    notable: list[dict[str, Any]] = field(default_factory=list)  # reporter data masked
    evaluations: list[dict[str, Any]] = field(default_factory=list)

    def rows(self, dimension: str, quarter: str | None = None) -> list[dict[str, Any]]:
        quarter = quarter or self.quarter
        return [r for r in self.table if r["quarter"] == quarter and r["dimension"] == dimension]

    def overall(self, quarter: str | None = None) -> dict[str, Any]:
        """The scope's totals of a quarter; a quarter without any item has zero counts."""
        quarter = quarter or self.quarter
        found = self.rows("all", quarter)
        return found[0] if found else self.published.get(quarter) or _empty_row(quarter, self.columns)

    def trend(self) -> list[dict[str, Any]]:
        return [self.overall(q) for q in self.quarters]

    def red_list(self) -> list[dict[str, Any]]:
        return [r for r in self.scorecard if r["list"] == "red"]

    def yellow_list(self) -> list[dict[str, Any]]:
        return sorted((r for r in self.scorecard if r["list"] == "yellow"), key=lambda r: -r["rank"])


def compute_kpis(wh: Warehouse, calendar: WorkCalendar, quarter: Quarter, community: str | None,
                 options: ReportSettings) -> QuarterlyKpis:
    workdays = workday_table(calendar)
    prepare_session(wh, workdays)
    digest = figures_digest(options, calendar, workdays)
    earlier = [quarter.previous(n) for n in range(options.trend_quarters, 0, -1)]
    published = {r["quarter"]: json.loads(r["figures"]) for r in wh.query("kpi_quarters_published", {
        "scope": community or "all", "digest": digest, "quarters": [q.label for q in earlier]})}
    first = next((q for q in earlier if q.label not in published), quarter)
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
    return QuarterlyKpis(
        quarter=quarter.label, community=community,
        quarters=[q.label for q in earlier] + [quarter.label],
        columns=[d[0] for d in wh.execute("SELECT * FROM kpi_table LIMIT 0").description],
        table=wh.rows("SELECT * FROM kpi_table"),
        scorecard=[c for c in cards if c["community_id"] is None],
        community_scorecards={k: list(g) for k, g in groupby((c for c in cards if c["community_id"]),
                                                               key=lambda c: c["community_id"])},
        published={q: f for q, f in published.items() if Quarter.parse(q) < first},
        computed=[q.label for q in [*earlier, quarter] if q >= first],
        digest=digest,
        meetings=wh.query("kpi_meetings", {"from": quarter.start_utc, "to": quarter.end_utc, "community": community}),
        notable=[_masked(r) for r in wh.query("kpi_notable_cases", {"limit": options.notable_cases})],
        evaluations=[redact(e) for e in wh.query("evaluations_of_period", {
            "periods": [str(quarter.year), quarter.label], "community": community})],
    )


def publish_quarters(wh: Warehouse, kpis: QuarterlyKpis, at: datetime) -> int:
    """Record the totals of every quarter this run computed, as the trend of later runs shows them."""
    rows = [{"scope": kpis.community or "all", "quarter": q, "digest": kpis.digest,
             "figures": json.dumps(kpis.overall(q), ensure_ascii=False, default=str), "computed_at": naive_utc(at)}
            for q in kpis.computed]
    if rows:
        wh.con.register("_kpi_quarters", pa.Table.from_pylist(rows))
        try:
            wh.execute(load_query("kpi_quarters_publish"))
        finally:
            wh.con.unregister("_kpi_quarters")
    return len(rows)


def figures_digest(options: ReportSettings, calendar: WorkCalendar, workdays: pa.Table) -> str:
    """What a quarter's totals depend on besides the events."""
    years = calendar.covered_years()
    basis = {"extensions": options.extensions_move_deadline, "basically": options.basically_satisfied_counts,
             "base": options.satisfaction_base,
             "calendar": [years.start, years.stop, hashlib.sha256(workdays.column("n").to_numpy().tobytes()).hexdigest()],
             "queries": [load_query(name) for name in FIGURE_QUERIES]}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]


class KeyCollision(Exception):
    """Two case or assignment ids share the hash the KPI queries key them by; bilingual."""


def prepare_session(wh: Warehouse, workdays: pa.Table) -> None:
    """The macros, the cases and the working-day table (`workday_table`) the KPI queries need, on
    this connection."""
    wh.execute("CREATE OR REPLACE TEMP TABLE kpi_cases AS " + load_query("kpi_cases"))
    if collisions := wh.query("kpi_keys")[0]["collisions"]:
        raise KeyCollision(
            f"{collisions} 个案件或交办编号的哈希值重复，指标会合并它们的记录，请联系维护人员 / "
            f"{collisions} case or assignment ids share a hash; the KPIs would merge their histories:"
            f" tell the maintainers")
    wh.execute(load_query("kpi_session"))
    wh.con.register("kpi_workdays", workdays)


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
