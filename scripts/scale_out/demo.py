"""scripts/scale_out_demo.sh: the scale-out stack on this machine, by hand (docs/scale-out.md).

Starts PostgreSQL, a Prefect server on it, the deployments of scripts/scale_out/prefect.yaml and
two workers (one per community), drops an export into each community's folders, runs the four
deployments at once, prints who ran what and the lake's conflicts and retries, then keeps the
stack up for the UI until Ctrl-C (or exits at once with --no-wait).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_intake import generate  # noqa: E402
from liandong.roster import load_roster  # noqa: E402
from scripts.scale_out.stack import COMMUNITIES, scale_out_stack  # noqa: E402

ROSTER = ROOT / "demo" / "roster.yaml"


async def run(api: str, as_of: str) -> None:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    meet = f"demo-{time.time_ns()}"
    async with PrefectClient(api) as client:
        runs = []
        for community in COMMUNITIES:
            for name, parameters in ((f"pull-new-cases/intake-{community}", {"as_of": as_of}),
                                     (f"lake-slice/lake-{community}", {"community": community, "as_of": as_of,
                                                                       # the two lake runs meet inside their first
                                                                       # write, so their commits overlap
                                                                       "barrier": meet})):
                deployment = await client.read_deployment_by_name(name)
                runs.append(await client.create_flow_run_from_deployment(deployment.id, parameters=parameters))
        while True:
            runs = [await client.read_flow_run(r.id) for r in runs]
            if all(r.state and r.state.is_final() for r in runs):
                break
            await asyncio.sleep(2)
        for r in runs:
            print(f"  {r.name:<28} queue {r.work_queue_name:<10} {r.state.type.value:<10} "
                  f"{r.total_run_time.total_seconds():5.1f} s")
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[r.id for r in runs])))
        for a in artifacts:
            if a.key and a.key.startswith("lake-slice-"):
                print(a.data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="state folder (default: a new temporary one)")
    parser.add_argument("--rows", type=int, default=1000, help="cases per community export")
    parser.add_argument("--no-wait", action="store_true", help="stop once the runs are done")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="liandong-scale-out-"))
    print(f"状态目录 / state: {home}")
    with scale_out_stack(home, roster=ROSTER) as stack:
        print(f"启动 / started (s): {stack.timings}")
        print(f"界面 / UI: {stack.api.removesuffix('/api')}   PostgreSQL: {stack.postgres.host}:{stack.postgres.port}")
        roster = load_roster(ROSTER)
        for n, community in enumerate(COMMUNITIES):
            only = roster.model_copy(update={"communities": [c for c in roster.communities if c.id == community]})
            for folder in ("drop", "lake-drop"):
                (home / folder / community).mkdir(parents=True, exist_ok=True)
                generate(home / folder / community / f"2026-11-20_{community}热线.csv", args.rows, only, seed=n + 11)
        started = time.monotonic()
        asyncio.run(run(stack.api, "2026-11-21T02:00:00+08:00"))
        print(f"四个运行共 / four runs: {time.monotonic() - started:.1f} s")
        for community in COMMUNITIES:
            count = stack.worker_log(community).count("submitting flow run")
            print(f"  worker-{community}: {count} run(s)")
        if not args.no_wait:
            print("Ctrl-C 停止 / to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    print("已停止 / stopped")


if __name__ == "__main__":
    main()
