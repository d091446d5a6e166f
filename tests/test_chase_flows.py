"""The `chase-deadlines` and `follow-up-checks` flows once under Prefect's test harness: task
states, run names, the coordinators' overdue table artifact, an extension from the flow's form."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterName

from flows.chase_deadlines import chase_deadlines
from flows.look_back import follow_up_checks
from liandong.settings import Settings
from tasks.chase.extension import ExtensionRequest
from tests.test_chase_smtp import COORDINATOR, add_case, at
from tests.test_lookback_checks import resolved_case
from warehouse.store import open_warehouse

pytestmark = pytest.mark.prefect
NIGHT = date(2026, 11, 20)


async def runs_and_table() -> tuple[list, list, list]:
    async with get_client() as client:
        chase = await client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=["chase 2026-11-20"])))
        look = await client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=["look-back 2026-11-20"])))
        artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["overdue-cases"])))
    return chase, look, artifacts


def test_both_flows_run_under_prefect_and_publish_the_overdue_table(prefect_harness, settings: Settings):
    with open_warehouse(settings.warehouse_path) as wh:
        late = add_case(wh, 1, "noise", date(2026, 11, 2), status="in_progress", lead_unit_id="pcs-xg")
        extended = add_case(wh, 2, "roads", date(2026, 11, 2), status="in_progress", lead_unit_id="urban-mgmt")
        wh.append("assignments", [
            {"assignment_id": f"{case}/1", "case_id": case, "unit_id": unit, "role": "lead", "state": "accepted",
             "candidate_rank": 0, "due_at": due, "created_at": datetime(2026, 11, 2), "updated_at": datetime(2026, 11, 2)}
            for case, unit, due in [(late, "pcs-xg", datetime(2026, 11, 17, 15, 59, 59)),
                                    (extended, "urban-mgmt", datetime(2026, 11, 19, 15, 59, 59))]])
        looked = resolved_case(wh, 3, at(date(2026, 10, 20), 1))

    request = ExtensionRequest(case_id=extended, working_days=2, reason="雨天无法施工", approved_by=COORDINATOR)
    chase = chase_deadlines(as_of=at(NIGHT), extensions=[request])
    look = follow_up_checks(as_of=at(NIGHT))

    assert chase.problems == [] and look.problems == []
    assert [g.to_due for g in chase.extensions.granted] == [datetime(2026, 11, 24, 15, 59, 59)]
    assert (chase.ladder.overdue, chase.ladder.escalated, chase.overdue_cases) == (1, 1, 1)
    assert look.questions.asked == 1
    # The extension notice, the police station's overdue digest, the escalation, the look-back question.
    assert chase.delivery.sent == 3 and look.delivery.sent == 1
    assert len(list((settings.outbox_folder / "new").iterdir())) == 4

    chase_runs, look_runs, artifacts = asyncio.run(runs_and_table())
    assert len(chase_runs) == 1 and chase_runs[0].state.is_completed()
    assert len(look_runs) == 1 and look_runs[0].state.is_completed()
    (table,) = [json.loads(a.data) for a in artifacts if a.flow_run_id == chase_runs[0].id]
    assert table == [{"社区": "星光社区", "牵头单位": "星光派出所", "诉求编号": late, "标题": "noise 问题 1",
                      "办理期限": "2026-11-17", "逾期工作日": "3", "已升级督办": "是"}]
    with open_warehouse(settings.warehouse_path) as wh:
        assert wh.scalar("SELECT state FROM lookbacks WHERE case_id = ?", [looked]) == "asked"
