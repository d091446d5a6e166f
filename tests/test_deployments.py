"""`make serve` for real: a `prefect server` process on loopback, `prefect deploy --all` from
prefect.yaml, a process worker; the nightly deployment runs through the worker, and a
coordinator's browser (headless Chromium) shows its summary artifact."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.prefect_logs import forbidden_lines

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "cases"


@pytest.fixture
def served(tmp_path: Path):
    """scripts/serve.sh with its own port, Prefect home and Liandong home."""
    port = free_port()
    home = tmp_path / "var"
    (home / "drop").mkdir(parents=True)
    for name in ("2026-11-02_12345热线.csv", "2026-11-03_网格平台.xlsx"):
        shutil.copy(DEMO / name, home / "drop" / name)
    env = {**os.environ, "LIANDONG_SERVE_PORT": str(port), "PREFECT_HOME": str(tmp_path / "prefect"),
           "LIANDONG_HOME": str(home), "LIANDONG_ROSTER_PATH": str(ROOT / "demo" / "roster.yaml")}
    env.pop("PREFECT_API_URL", None)
    log = tmp_path / "serve.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen([str(ROOT / "scripts" / "serve.sh")], cwd=ROOT, env=env, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 180
    while "worker" not in log.read_text(errors="replace").lower() or "started" not in log.read_text(errors="replace"):
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(1)
    yield api, home, log, home / "log" / "prefect-server.log"
    # As a service manager stops it: the script stops the worker first, then the server.
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    assert "stopped" in log.read_text(errors="replace")


async def run_nightly(api: str) -> tuple[object, list]:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with PrefectClient(api) as client:
        deployment = await client.read_deployment_by_name("nightly-coordination/nightly")
        assert deployment.schedules and deployment.schedules[0].schedule.timezone == "Asia/Shanghai"
        run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"as_of": "2026-11-21T02:00:00+08:00"})
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            run = await client.read_flow_run(run.id)
            if run.state and run.state.is_final():
                break
            await asyncio.sleep(2)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
    return run, artifacts


def test_nightly_deployment_runs_through_the_worker_and_the_ui_shows_its_summary(served, tmp_path):
    api, home, log, server_log = served
    run, artifacts = asyncio.run(run_nightly(api))
    assert run.state.is_completed(), f"{run.state}\n{log.read_text(errors='replace')[-3000:]}"
    assert run.name == "nightly 2026-11-21"
    summary = next(a for a in artifacts if a.key == "nightly-summary")
    assert "夜间协调汇总" in summary.data and "## 交办" in summary.data
    assert (home / "warehouse.duckdb").is_file() and any((home / "outbox" / "new").iterdir())
    assert forbidden_lines(log.read_text(errors="replace") + server_log.read_text(errors="replace")) == []

    # What a coordinator sees: the flow run's Artifacts tab in the UI, rendered by Chromium.
    ui = api.removesuffix("/api")
    shot = tmp_path / "flow-run-artifacts.png"
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                    f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1400,1800",
                    "--virtual-time-budget=15000", f"--screenshot={shot}",
                    f"{ui}/artifacts/artifact/{summary.id}"], check=True, timeout=120, capture_output=True)
    assert shot.stat().st_size > 20_000
    print(f"screenshot of the summary artifact: {shot}")
    keep = os.environ.get("LIANDONG_TEST_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'chromium2'}", "--virtual-time-budget=15000", "--dump-dom",
                          f"{ui}/artifacts/artifact/{summary.id}"], check=True, timeout=120, capture_output=True, text=True)
    assert "夜间协调汇总" in dom.stdout
    assert httpx.get(f"{api}/health", timeout=5).status_code == 200
