"""The nightly flow under Prefect's test harness: states, run names, the coordinators' summary."""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
)

from flows.assign_owning_units import assign_owning_units
from flows.nightly_coordination import nightly_coordination
from flows.pull_new_cases import pull_new_cases
from flows.triage_new_cases import triage_new_cases
from liandong.settings import Settings
from warehouse.store import open_warehouse

pytestmark = pytest.mark.prefect
DEMO = Path(__file__).parent.parent / "demo" / "cases"
AS_OF = datetime.fromisoformat("2026-11-21T02:00:00+08:00")


async def run_and_artifact(flow_run_id) -> tuple[object, str]:
    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return run, next(a.data for a in artifacts if a.key == "nightly-summary")


def test_nightly_run_lands_cases_and_writes_a_summary(prefect_harness, settings: Settings, monkeypatch):
    monkeypatch.setenv("LIANDONG_ROSTER_PATH", str(DEMO.parent / "roster.yaml"))
    for name in ("2026-11-02_12345热线.csv", "2026-11-03_网格平台.xlsx", "2026-11-04_城市放大镜.jsonl"):
        shutil.copy(DEMO / name, settings.drop_folder / name)

    state = nightly_coordination(as_of=AS_OF, return_state=True)
    assert state.is_completed(), state.message
    run, summary = asyncio.run(run_and_artifact(state.state_details.flow_run_id))
    assert run.name == "nightly 2026-11-21" and run.state.is_completed()
    assert "夜间协调汇总 2026-11-21 02:00" in summary
    assert "2026-11-02\\_12345热线.csv" in summary  # escaped Markdown, file named
    assert "已隔离" in summary and "no such date" in summary  # quarantined rows with reasons
    assert "2027年的节假日安排尚未收录" in summary  # November: next year's calendar is missing
    assert "13812" not in summary and "1391" not in summary  # no residents' phone numbers
    with open_warehouse(settings.warehouse_path) as wh:
        cases = wh.scalar("SELECT count(*) FROM cases")
        statuses = {r["status"] for r in wh.rows("SELECT DISTINCT status FROM cases")}
        quarantined = wh.scalar("SELECT count(*) FROM quarantine")
    assert cases >= 20 and statuses <= {"triaged", "rejected", "assigned", "claim_listed"} and quarantined == 6
    assert "## 交办" in summary and "牵头单位" in summary  # the assignment stage ran and reported
    notices = list((settings.outbox_folder / "new").iterdir())
    assert len(notices) >= 20  # assignment notices and claim lists, in the demo's maildir outbox

    # The same exports again (a re-send): nothing new.
    for name in ("2026-11-02_12345热线.csv",):
        shutil.copy(DEMO / name, settings.drop_folder / name)
    assert nightly_coordination(as_of=AS_OF, return_state=True).is_completed()
    with open_warehouse(settings.warehouse_path) as wh:
        assert wh.scalar("SELECT count(*) FROM cases") == cases
        assert wh.scalar("SELECT count(*) FROM quarantine") == quarantined


def test_bad_roster_fails_the_run_and_leaves_the_warehouse_untouched(prefect_harness, settings: Settings,
                                                                     tmp_path: Path, monkeypatch):
    roster = tmp_path / "roster.yaml"
    roster.write_text("communities: []\nunits: [{id: X}]\ncategories: []\n", encoding="utf-8")
    monkeypatch.setenv("LIANDONG_ROSTER_PATH", str(roster))
    shutil.copy(DEMO / "2026-11-02_12345热线.csv", settings.drop_folder)
    state = nightly_coordination(as_of=AS_OF, return_state=True)
    assert state.is_failed()
    assert "invalid roster" in state.message or "invalid roster" in str(state.result(raise_on_failure=False))
    assert not settings.warehouse_path.exists()
    assert (settings.drop_folder / "2026-11-02_12345热线.csv").exists()  # not archived, not lost


def artifacts_of_runs(flow_run_ids) -> dict[str, list]:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=list(flow_run_ids))))
    by_key: dict[str, list] = {}
    for a in artifacts:
        by_key.setdefault(a.key, []).append(a)
    return by_key


def test_a_stage_run_on_its_own_ends_with_its_summary_and_inside_the_night_only_the_night_does(
        prefect_harness, settings: Settings, monkeypatch):
    monkeypatch.setenv("LIANDONG_ROSTER_PATH", str(DEMO.parent / "roster.yaml"))
    shutil.copy(DEMO / "2026-11-02_12345热线.csv", settings.drop_folder)
    intake = pull_new_cases(as_of=AS_OF, return_state=True)
    triage = triage_new_cases(as_of=AS_OF, return_state=True)
    assign = assign_owning_units(as_of=AS_OF, return_state=True)
    runs = {name: s.state_details.flow_run_id for name, s in
            [("intake", intake), ("triage", triage), ("assignment", assign)]}
    by_key = artifacts_of_runs(runs.values())
    intake_md = by_key["intake-summary"][0].data
    assert by_key["intake-summary"][0].flow_run_id == runs["intake"]
    assert intake_md.startswith("# 新案件接收 2026-11-21 02:00")
    assert "2026-11-02\\_12345热线.csv" in intake_md and "已隔离" in intake_md  # file and its quarantined rows
    assert "## 交办" not in intake_md  # only the stage that ran
    assert by_key["triage-summary"][0].data.startswith("# 分拣 2026-11-21")
    assignment_md = by_key["assignment-summary"][0].data
    assert assignment_md.startswith("# 交办 2026-11-21") and "牵头单位" in assignment_md
    assert "13812" not in intake_md + assignment_md  # no residents' phone numbers

    night = nightly_coordination(as_of=AS_OF, return_state=True)
    assert night.is_completed(), night.message
    with get_client(sync_client=True) as client:
        stages = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[night.state_details.flow_run_id])))
    assert {r.name.split()[0] for r in stages} >= {"intake", "triage", "replies", "assign", "chase", "look-back"}
    keys = set(artifacts_of_runs([night.state_details.flow_run_id, *(r.id for r in stages)]))
    assert "nightly-summary" in keys and not keys & {"intake-summary", "triage-summary", "assignment-summary"}
