"""The `quarterly-summary` flow under Prefect's test harness: run name, artifacts, files, the
community's side of the two-way evaluation, the email through the outbox, reruns, parameters."""

from __future__ import annotations

import asyncio
import email
from datetime import datetime
from email.header import decode_header, make_header

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterName

from flows.quarterly_summary import quarterly_summary
from liandong.settings import Settings
from tests.test_report_kpis import build_fixture
from warehouse.store import open_warehouse

pytestmark = pytest.mark.prefect
AS_OF = datetime.fromisoformat("2027-01-01T06:00:00+08:00")  # the scheduled run: the day after Q4


async def run_and_artifacts(name: str) -> tuple[list, dict]:
    async with get_client() as client:
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])))
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[runs[0].id])))
    return runs, {a.key: a for a in artifacts}


def sent_mail(settings: Settings) -> list[email.message.Message]:
    return [email.message_from_bytes(p.read_bytes()) for p in sorted((settings.outbox_folder / "new").iterdir())]


def test_quarterly_summary_writes_report_artifacts_evaluations_and_mail(prefect_harness, settings: Settings,
                                                                         monkeypatch):
    monkeypatch.setenv("LIANDONG_REPORT__MIN_CASES_RANKED", "2")  # the fixture's units have 1–3 cases
    with open_warehouse(settings.warehouse_path) as wh:
        build_fixture(wh)

    summary = quarterly_summary(as_of=AS_OF)  # no quarter given: the quarter before as_of

    assert summary.quarter == "2026-Q4" and summary.community is None
    runs, artifacts = asyncio.run(run_and_artifacts("quarterly 2026-Q4"))
    assert len(runs) == 1 and runs[0].state.is_completed()
    markdown = artifacts["quarterly-summary"].data
    assert "联动季度报告 · 2026年第四季度 · 全部社区" in markdown and "| 受理 | 9 |" in markdown
    assert artifacts["quarterly-summary-report"].type == "markdown"  # Prefect stores link artifacts as markdown
    assert summary.files.html["zh-CN"].as_uri() in artifacts["quarterly-summary-report"].data

    folder = settings.home / "reports" / "2026-Q4"
    assert {p.name for p in folder.iterdir()} >= {
        "report.zh-CN.html", "report.en.html", "report.xlsx", "kpis.csv", "kpis.parquet", "scorecard.csv",
        "scorecard.parquet", "meetings.csv", "notable.csv", "evaluations.csv"}

    with open_warehouse(settings.warehouse_path) as wh:
        side = wh.rows("SELECT rater, ratee, score FROM evaluations WHERE period = '2026-Q4' ORDER BY rater, ratee")
    assert {"rater": "community:xingguang", "ratee": "unit:pcs-xg", "score": 3.75} in side
    assert len(side) == summary.evaluations_recorded == 6

    mail = sent_mail(settings)
    assert len(mail) == summary.queued.queued == 2
    assert {m["To"] for m in mail} == {"=?utf-8?b?5p2O5Lmm6K6w?= <li.secretary@xingguang.example.cn>",
                                       "Wang Secretary <wang.secretary@donghu.example.cn>"}
    subjects = {str(make_header(decode_header(m["Subject"]))) for m in mail}
    assert subjects == {"联动季度报告：2026年第四季度 · 全部社区",
                        "Liandong quarterly report: Q4 2026 · all communities"}
    zh = next(m for m in mail if "li.secretary" in m["To"])
    text = next(p for p in zh.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "响应率：57.1%" in text and str(folder / "report.zh-CN.html") in text and "红榜：星光派出所" in text

    # Rerun with the same figures: the report is rewritten, nothing is sent or recorded twice.
    again = quarterly_summary(quarter="2026-Q4", as_of=AS_OF)
    assert again.queued.queued == 0 and again.queued.already_queued == 2 and len(sent_mail(settings)) == 2
    with open_warehouse(settings.warehouse_path) as wh:
        assert wh.scalar("SELECT count(*) FROM evaluations WHERE period = '2026-Q4'") == 6


def test_one_community_and_bad_parameters(prefect_harness, settings: Settings):
    with open_warehouse(settings.warehouse_path) as wh:
        build_fixture(wh)
    summary = quarterly_summary(quarter="2026-Q4", community="donghu", as_of=AS_OF)
    assert summary.files.folder == settings.home / "reports" / "2026-Q4-donghu"
    assert "东湖社区" in summary.files.markdown and "| 受理 | 3 |" in summary.files.markdown
    assert [m["To"] for m in sent_mail(settings)] == ["Wang Secretary <wang.secretary@donghu.example.cn>"]

    # The UI's form checks the quarter's shape before a run starts; an unknown community stops the run.
    schema = quarterly_summary.parameters.model_dump()["properties"]
    assert schema["quarter"]["anyOf"][0]["pattern"] == r"^\d{4}-Q[1-4]$" and "2026-Q4" in schema["quarter"]["description"]
    bad_quarter = quarterly_summary(quarter="2026-Q5", as_of=AS_OF, return_state=True)
    assert bad_quarter.is_failed() and "quarter: String should match pattern" in bad_quarter.message
    unknown = quarterly_summary(quarter="2026-Q4", community="nowhere", as_of=AS_OF, return_state=True)
    assert unknown.is_failed() and "nowhere" in unknown.message
