"""The pinned dependency set against a real `prefect server start`: a cron schedule in
Asia/Shanghai makes scheduled runs, and the server logs none of the errors a wrong set produces
(FastAPI `min_items`, SQLAlchemy 2.1 bulk DML in the scheduler, telemetry locking SQLite)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.prefect_logs import forbidden_lines


@pytest.fixture
def prefect_server(tmp_path: Path):
    port = free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_URL": f"http://127.0.0.1:{port}/api", "PREFECT_LOGGING_LEVEL": "INFO"}
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert server.poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("prefect server did not become healthy in 120 s:\n" + log.read_text(errors="replace")[-3000:])
    yield url, log
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


async def scheduled_runs(url: str) -> int:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.schedules import CronSchedule

    async with PrefectClient(url) as client:
        flow_id = await client.create_flow_from_name("nightly-coordination")
        deployment_id = await client.create_deployment(
            flow_id=flow_id, name="pin-check", entrypoint="flows/nightly_coordination.py:nightly_coordination",
            schedules=[DeploymentScheduleCreate(schedule=CronSchedule(cron="0 2 * * *", timezone="Asia/Shanghai"),
                                                active=True)])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))
            if runs:
                assert all(r.expected_start_time.astimezone().utcoffset() is not None for r in runs)
                # 02:00 in Shanghai is 18:00 UTC the day before.
                assert {r.expected_start_time.hour for r in runs} == {18}
                return len(runs)
            await asyncio.sleep(2)
    return 0


def test_scheduler_creates_runs_and_server_logs_no_known_errors(prefect_server):
    url, log = prefect_server
    assert asyncio.run(scheduled_runs(url)) >= 1, "the scheduler created no runs:\n" + log.read_text(errors="replace")[-3000:]
    time.sleep(2)  # one more scheduler loop's worth of log
    assert forbidden_lines(log.read_text(errors="replace")) == []
