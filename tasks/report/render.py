"""The quarterly report as HTML (templates/report/<locale>/quarterly.html.j2, autoescaped, charts
inline as SVG, no script, nothing fetched) and the Markdown of the Prefect artifact.

`report_view` turns the KPIs into what a reader sees: names instead of ids, the headline with
its change against the previous quarter, the lists, the charts and the notes on the data.
Case text is only ever data in the context, never template source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from liandong.clock import local
from liandong.markdown import escape as markdown_escape
from liandong.roster import Roster
from liandong.settings import ReportSettings
from tasks.meetings.chair import chair_term
from tasks.report import charts
from tasks.report.evaluation import community_side
from tasks.report.kpis import RATES, QuarterlyKpis
from tasks.report.labels import DIMENSIONS, LISTS, NONE_KEY, formatted, label, number, percent, pick
from tasks.report.quarters import Quarter

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "report"
LOCALES = ("zh-CN", "en")
HEADLINE = ("received", "assigned", "resolved", "response_rate", "on_time_rate", "resolution_rate",
            "satisfaction_rate", "reopened", "accept_days_median", "resolve_days_median", "open_at_end",
            "overdue_at_end")
BREAKDOWNS = ("community", "grid", "category", "source")
CHART_TITLES = {
    "trend": ("主要指标趋势", "Main rates by quarter"),
    "volume": ("受理与办结", "Received and resolved"),
    "units": ("各单位按期办结率", "On-time rate by unit"),
    "categories": ("各类别按期办结率", "On-time rate by category"),
}


@dataclass(frozen=True)
class Names:
    """Roster names for the ids in the KPIs, in one language."""

    roster: Roster
    locale: str

    def of(self, dimension: str, key: str | None) -> str:
        if key is None:
            return pick(NONE_KEY, self.locale)
        finder = {"community": self.community, "community_unit": self.unit, "unit": self.unit,
                  "grid": self.grid, "category": self.category}.get(dimension)
        return finder(key) if finder else key

    def community(self, key: str) -> str:
        return next((c.name for c in self.roster.communities if c.id == key), key)

    def grid(self, key: str) -> str:
        return next((g.name for c in self.roster.communities for g in c.grids if g.id == key), key)

    def category(self, key: str) -> str:
        found = next((c for c in self.roster.categories if c.id == key), None)
        return key if found is None else found.name if self.locale == "zh-CN" else found.name_en or found.name

    def unit(self, key: str) -> str:
        found = next((u for u in self.roster.units if u.id == key), None)
        return key if found is None else found.name if self.locale == "zh-CN" else found.name_en or found.name

    def party(self, who: str) -> str:
        """An evaluation's rater or ratee: `unit:<id>` or `community:<id>`."""
        kind, _, key = who.partition(":")
        return self.community(key) if kind == "community" else self.unit(key) if kind == "unit" else who


def report_view(kpis: QuarterlyKpis, roster: Roster, options: ReportSettings, locale: str,
                generated_at: datetime) -> dict[str, Any]:
    quarter, names = Quarter.parse(kpis.quarter), Names(roster, locale)
    overall = kpis.overall()
    return {
        "locale": locale,
        "quarter": quarter,
        "quarter_name": quarter.name(locale),
        "scope_name": names.community(kpis.community) if kpis.community else None,
        "generated_at": local(generated_at).strftime("%Y-%m-%d %H:%M"),
        "overall": overall,
        "headline": headline(kpis, locale),
        "trend": [{**row, "quarter_name": Quarter.parse(row["quarter"]).name(locale)} for row in kpis.trend()],
        "breakdowns": {d: _named(kpis.rows(d), d, names) for d in BREAKDOWNS},
        "scorecard": _named(kpis.scorecard, "unit", names),
        "red": _named(kpis.red_list(), "unit", names),
        "yellow": _named(kpis.yellow_list(), "unit", names),
        "unranked": sum(r["rank"] is None for r in kpis.scorecard),
        "meetings": [{**m, "name": names.community(m["community_id"]) if m["community_id"] else None}
                     for m in kpis.meetings],
        "chairs": chair_terms(roster, kpis, quarter, names),
        "evaluations": evaluations(kpis, names, generated_at),
        "notable": [{**n, "unit": names.unit(n["unit_id"]) if n["unit_id"] else "",
                     "community": names.community(n["community_id"]) if n["community_id"] else "",
                     "category_name": names.category(n["category"]) if n["category"] else ""} for n in kpis.notable],
        "options": options,
        "notes": data_notes(kpis, locale),
        "charts": report_charts(kpis, names, locale),
        "dimension_names": {d: pick(p, locale) for d, p in DIMENSIONS.items()},
        "list_names": {k: pick(p, locale) for k, p in LISTS.items()},
    }


def headline(kpis: QuarterlyKpis, locale: str) -> list[dict[str, str]]:
    """The figures at the top with their change against the previous quarter."""
    now, before = kpis.overall(), kpis.overall(Quarter.parse(kpis.quarter).previous().label)
    return [{"name": label(c, locale), "value": formatted(c, now[c]), "change": _change(c, now[c], before[c], locale),
             "column": c} for c in HEADLINE]


def report_charts(kpis: QuarterlyKpis, names: Names, locale: str) -> dict[str, Markup]:
    """Inline SVG, marked safe: matplotlib writes it and escapes the labels it carries."""
    trend = kpis.trend()
    quarters = [Quarter.parse(q).name(locale) for q in kpis.quarters]
    judged_units = sorted((r for r in kpis.scorecard if r["deadlines"]), key=lambda r: (-r["on_time_rate"], r["key"]))
    categories = sorted((r for r in kpis.rows("category") if r["deadlines"]),
                        key=lambda r: (-r["on_time_rate"], r["key"] or ""))
    title = {k: pick(v, locale) for k, v in CHART_TITLES.items()}
    svg = {
        "trend": charts.trend_chart(title["trend"], quarters, {label(r, locale): [row[r] for row in trend] for r in RATES}),
        "volume": charts.grouped_bars(title["volume"], quarters, {
            label("received", locale): [row["received"] for row in trend],
            label("resolved", locale): [row["resolved"] for row in trend]}),
        "units": charts.rate_bars(title["units"], [names.unit(r["key"]) for r in judged_units],
                                  [r["on_time_rate"] for r in judged_units]),
        "categories": charts.rate_bars(title["categories"], [names.of("category", r["key"]) for r in categories],
                                       [r["on_time_rate"] for r in categories]),
    }
    return {name: Markup(text) for name, text in svg.items()}


def chair_terms(roster: Roster, kpis: QuarterlyKpis, quarter: Quarter, names: Names) -> list[dict[str, Any]]:
    """The rotating chairs (轮值主席) whose term overlaps the quarter, per community in scope, with
    the meetings each chaired in the quarter."""
    chaired = {m["community_id"]: m["chaired_by"] or [] for m in kpis.meetings}
    found = []
    for community in roster.communities:
        if kpis.community not in (None, community.id):
            continue
        day = quarter.first_day
        while day <= quarter.last_day and (term := chair_term(community, day)) is not None:
            found.append({"community": community.name, "unit": names.unit(term.unit_id), "starts": term.starts,
                          "ends": date.fromordinal(term.ends.toordinal() - 1),
                          "meetings_chaired": chaired.get(community.id, []).count(term.unit_id)})
            day = term.ends
    return found


def evaluations(kpis: QuarterlyKpis, names: Names, generated_at: datetime) -> dict[str, list[dict[str, Any]]]:
    """Two-way evaluation: the units' scores of their community as stored, and the community's
    side as this run computes it (the scorecard; the flow stores the same rows)."""
    def named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**e, "rater_name": names.party(e["rater"]), "ratee_name": names.party(e["ratee"])} for e in rows]

    return {"by_units": named([e for e in kpis.evaluations if e["rater"].startswith("unit:")]),
            "by_community": named(community_side(kpis, generated_at))}


def data_notes(kpis: QuarterlyKpis, locale: str) -> list[str]:
    unknown = kpis.overall()["days_unknown"]
    if not unknown:
        return []
    return [f"{unknown} 个时长跨入了工作日历未收录的年份，未计入用时中位数与P90（见 docs/working-days.md）" if locale == "zh-CN"
            else f"{unknown} spans reach a year the working-day calendar does not cover; they are left out of "
                 f"the medians and p90 (see docs/working-days.md)"]


def render_html(view: dict[str, Any]) -> str:
    return _environment(view["locale"]).get_template("quarterly.html.j2").render(view)


def render_markdown(view: dict[str, Any], report_name: str) -> str:
    return _markdown_environment().get_template(f"{view['locale']}/headline.md.j2").render(view, report_name=report_name)


def _named(rows: list[dict[str, Any]], dimension: str, names: Names) -> list[dict[str, Any]]:
    return [{**r, "name": names.of(dimension, r["key"])} for r in rows]


def _change(column: str, now: Any, before: Any, locale: str) -> str:
    if now is None or before is None:
        return ""
    if column in RATES:
        points = 100 * (now - before)
        return f"{points:+.1f} 个百分点" if locale == "zh-CN" else f"{points:+.1f} pts"
    return f"{now - before:+,}" if isinstance(now, int) else f"{now - before:+.1f}"


@cache
def _environment(locale: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([TEMPLATES / locale, TEMPLATES]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=percent, num=number, cell=lambda value, column: formatted(column, value),
                       label=lambda column: label(column, locale))
    env.globals["T"] = env.get_template("labels.j2").module
    return env


@cache
def _markdown_environment() -> jinja2.Environment:
    # Every value printed is Markdown-escaped, so case text cannot add links or markup to the UI.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), finalize=markdown_escape,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
