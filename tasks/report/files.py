"""What one quarterly run writes to its folder (`<report folder>/<quarter>[-<community>]/`): the
HTML report in each language, the exports (CSV, Parquet, XLSX), and what the artifact and the
emails say about them. A rerun overwrites the folder's files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from liandong.clock import local
from liandong.roster import Roster
from liandong.settings import ReportSettings, Settings
from tasks.report.exports import Exports, export_tables
from tasks.report.kpis import QuarterlyKpis
from tasks.report.render import LOCALES, Names, render_html, render_markdown, report_view

SHEETS = {
    "zh-CN": {"kpis": "指标", "scorecard": "单位记分卡", "meetings": "联席会议", "notable": "重点案件",
              "evaluations": "双向评价"},
    "en": {"kpis": "KPIs", "scorecard": "Unit scorecard", "meetings": "Joint meetings", "notable": "Notable cases",
           "evaluations": "Two-way evaluation"},
}


@dataclass
class ReportFiles:
    folder: Path
    html: dict[str, Path] = field(default_factory=dict)  # locale → report
    exports: Exports = field(default_factory=Exports)
    markdown: str = ""  # the artifact, in the settings' locale
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)  # locale → what the email says


def report_folder(settings: Settings, quarter: str, community: str | None) -> Path:
    root = settings.report.folder or settings.home / "reports"
    return root / (f"{quarter}-{community}" if community else quarter)


def write_report(kpis: QuarterlyKpis, roster: Roster, options: ReportSettings, folder: Path, locale: str,
                 generated_at: datetime) -> ReportFiles:
    folder.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(folder)
    views = {loc: report_view(kpis, roster, options, loc, generated_at) for loc in LOCALES}
    for loc, view in views.items():
        files.html[loc] = folder / f"report.{loc}.html"
        files.html[loc].write_text(render_html(view), encoding="utf-8")
        files.summaries[loc] = summary(view, files.html[loc])
    files.exports = export_tables(export_rows(kpis, views[locale], Names(roster, locale)), folder, locale,
                                  SHEETS[locale], local(generated_at).replace(tzinfo=None))
    files.markdown = render_markdown(views[locale], files.html[locale].name)
    return files


def summary(view: dict[str, Any], html: Path) -> dict[str, Any]:
    return {"quarter_name": view["quarter_name"], "scope_name": view["scope_name"], "headline": view["headline"],
            "no_response": view["overall"]["no_response"], "red": [r["name"] for r in view["red"]],
            "yellow": [r["name"] for r in view["yellow"]], "notes": view["notes"], "report_path": str(html)}


def export_rows(kpis: QuarterlyKpis, view: dict[str, Any], names: Names) -> dict[str, list[dict[str, Any]]]:
    """The tables of the exports, names beside the ids, in the report's language."""
    kpi_rows = [*kpis.published.values(), *kpis.table]  # the trend's earlier quarters as published, then this run's
    return {
        "kpis": [{"name": names.of(r["dimension"], r["key"]), **r} for r in kpi_rows],
        "scorecard": [{"name": r["name"], **r} for r in view["scorecard"]],
        "meetings": [{"name": m["name"], **m, "chaired_by": [names.unit(u) for u in m["chaired_by"] or []]}
                     for m in view["meetings"]],
        "notable": kpis.notable,
        "evaluations": [{"period": e["period"], "rater": e["rater_name"], "ratee": e["ratee_name"], "score": e["score"],
                         "comment": e["comment"], "created_at": e["created_at"]}
                        for e in view["evaluations"]["by_units"] + view["evaluations"]["by_community"]],
    }
