"""Flow `lake-slice`: one community's roster sync, intake and triage written into the DuckLake
warehouse, so that several of them (one per worker) write at once (docs/scale-out.md).

It runs the product's own stage functions (tasks/roster, tasks/intake, tasks/triage) on a
`Warehouse` opened with `open_warehouse(..., lake=settings.warehouse_lake())`: the wiring that
`liandong/resources.py` does not have yet. What it adds is what many writers need:
- every stage is retried when DuckLake refuses its commit because another run changed the same
  table (`retry_on_conflict`); each stage re-reads what it acts on, so a repeat is safe;
- intake takes the `lake-case-numbers` concurrency slot: case numbers are `max + 1` per year,
  and DuckLake lets two concurrent appends both commit, so unserialised intake would hand out
  the same numbers twice (tests/test_scale_out.py shows it).
The conflicts, retries and waits of the run are its `lake-slice-<community>` artifact.

    PREFECT_API_URL=… LIANDONG_WAREHOUSE_BACKEND=ducklake LIANDONG_LAKE__CATALOG=… \
        .venv/bin/python scripts/scale_out/lake_flows.py xingguang
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # a worker runs this file by path from the checkout
    sys.path.insert(0, str(ROOT))

from prefect import flow, get_run_logger  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.concurrency.sync import concurrency  # noqa: E402

from flows.naming import current_run_id  # noqa: E402
from liandong.clock import local, resolve_as_of  # noqa: E402
from liandong.locking import ensure_limit  # noqa: E402
from liandong.roster import load_roster  # noqa: E402
from liandong.settings import load_settings  # noqa: E402
from tasks.intake.pull import pull_drop_folder  # noqa: E402
from tasks.roster.sync import sync_roster  # noqa: E402
from tasks.triage.new_cases import triage_new_cases  # noqa: E402
from warehouse.lake import retry_on_conflict  # noqa: E402
from warehouse.store import open_warehouse  # noqa: E402

NUMBERING_LIMIT = "lake-case-numbers"
ATTEMPTS = 8


def _name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.parameters
    return f"lake {p['community']} {local(resolve_as_of(p.get('as_of'))):%Y-%m-%d}"


def _barrier(folder: Path, me: str, parties: int, timeout: float = 180.0) -> float:
    """Wait until `parties` runs have arrived (a file each), so their writes overlap. Test aid."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / me).touch()
    started = time.monotonic()
    while len(list(folder.iterdir())) < parties:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"only {len(list(folder.iterdir()))} of {parties} runs arrived at {folder}")
        time.sleep(0.02)
    return time.monotonic() - started


@flow(name="lake-slice", flow_run_name=_name, log_prints=True)
def lake_slice(community: str, as_of: datetime | None = None, barrier: str | None = None,
               parties: int = 2) -> dict[str, Any]:
    """Roster, intake and triage of one community into the DuckLake warehouse.

    Args:
        community: 社区编号 / the community's id in the roster (its exports are in LIANDONG_DROP_FOLDER)
        as_of: 以此时刻运行，默认现在 / run as of this moment (default: now)
        barrier: 测试用：各运行在首个写事务中会合的目录名 / tests: a folder name under the home where
            `parties` runs meet inside their first write transaction (the roster sync)
        parties: 会合的运行数 / how many runs meet at the barrier
    """
    logger = get_run_logger()
    settings, as_of, run_id = load_settings(), resolve_as_of(as_of), current_run_id()
    lake = settings.warehouse_lake()
    if lake is None:
        raise ValueError("lake-slice 需要 warehouse_backend: ducklake / needs LIANDONG_WAREHOUSE_BACKEND=ducklake")
    roster = load_roster(settings.roster_path)
    stats: dict[str, Any] = {"community": community, "stages": {}}

    def stage(name: str, work, meet: bool = False):
        record = {"attempts": 0, "conflicts": [], "seconds": 0.0}
        stats["stages"][name] = record

        def once():
            record["attempts"] += 1
            with open_warehouse(settings.warehouse_path, lake=lake) as wh:
                if meet and barrier and record["attempts"] == 1:
                    _meet_inside_first_append(wh)
                return work(wh)

        def _meet_inside_first_append(wh) -> None:
            """The runs meet at their first append, inside the stage's transaction (it has already
            deleted), so both transactions are open at once and both commits really overlap."""
            original = wh.append

            def append(*args, **kwargs):
                wh.append = original
                stats["barrier_wait"] = round(_barrier(settings.home / "barriers" / barrier, community, parties), 2)
                return original(*args, **kwargs)
            wh.append = append

        def conflicted(attempt: int, exc: BaseException) -> None:
            reason = str(exc).splitlines()[-1][:200]
            record["conflicts"].append(reason)
            logger.warning(f"{name}: DuckLake 提交冲突，重试 / commit conflict, retrying ({attempt}): {reason}")

        started = time.monotonic()
        try:
            return retry_on_conflict(once, attempts=ATTEMPTS, on_conflict=conflicted)
        finally:
            record["seconds"] = round(time.monotonic() - started, 2)

    stats["roster"] = stage("roster", lambda wh: sync_roster(wh, roster), meet=True)
    ensure_limit(NUMBERING_LIMIT)
    waited = time.monotonic()
    with concurrency(NUMBERING_LIMIT, occupy=1, strict=True):
        stats["numbering_wait"] = round(time.monotonic() - waited, 2)
        intake = stage("intake", lambda wh: pull_drop_folder(wh, settings, roster, as_of, run_id))
    stats["new_cases"] = sum(r.new_cases for r in intake)
    triage = stage("triage", lambda wh: triage_new_cases(wh, roster, as_of, run_id))
    stats["triaged"] = triage.triaged + triage.rejected_out_of_scope + triage.duplicates
    rows = "\n".join(f"| {name} | {r['attempts']} | {len(r['conflicts'])} | {r['seconds']} | "
                     f"{'; '.join(r['conflicts'])[:300] or '—'} |" for name, r in stats["stages"].items())
    create_markdown_artifact(
        key=f"lake-slice-{community}",
        description=f"DuckLake 写入：冲突与重试 / DuckLake writes of {community}: conflicts and retries",
        markdown=(f"# DuckLake {community}\n\n新案件 / new cases: {stats['new_cases']}; "
                  f"分拣 / triaged: {stats['triaged']}; 等待编号 / waited for numbering: {stats['numbering_wait']} s\n\n"
                  "| 阶段 stage | 尝试 attempts | 冲突 conflicts | 秒 s | 冲突原因 reasons |\n|---|---|---|---|---|\n"
                  f"{rows}\n"))
    print(f"lake {community}: {stats['new_cases']} new cases, "
          + ", ".join(f"{n} {r['attempts']} attempt(s)" for n, r in stats["stages"].items()))
    return stats


if __name__ == "__main__":
    print(lake_slice(sys.argv[1] if len(sys.argv) > 1 else "xingguang"))
