"""Scale-out, run for real (docs/scale-out.md):

- a Prefect server on PostgreSQL (a throwaway Debian `postgresql` cluster), the deployments of
  scripts/scale_out/prefect.yaml, and TWO process workers, one per community's work queue;
- the product's intake flow per community on the DuckDB file: the two workers' runs queue on
  the `warehouse-writer` limit (the store's own lock wait is zero, so a collision would fail);
- the warehouse on DuckLake (extension loaded offline from its wheel, catalog in PostgreSQL,
  data as Parquet) with two flow runs writing at once, and what DuckLake does scenario by
  scenario when two processes commit together (scripts/scale_out/lake_conflicts.py).

One stack per module (PostgreSQL, server, workers: about a minute to start here).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

import pytest

from benchmarks.bench_intake import generate
from liandong.roster import load_roster
from liandong.settings import load_settings
from scripts.scale_out.lake_conflicts import run_scenarios
from scripts.scale_out.stack import COMMUNITIES, scale_out_stack
from tests.support.prefect_logs import forbidden_lines
from warehouse.lake import LakeConfig, extension_path, open_lake
from warehouse.store import load_query, open_warehouse

ROOT = Path(__file__).resolve().parent.parent
ROSTER = ROOT / "demo" / "roster.yaml"
AS_OF = "2026-11-21T02:00:00+08:00"
INTAKE_ROWS, LAKE_ROWS = 300, 1500
FIGURES: dict[str, object] = {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("scale-out")
    with scale_out_stack(home, roster=ROSTER, extra_env={"LIANDONG_WAREHOUSE_LOCK_TIMEOUT": "0"}) as s:
        FIGURES["startup_seconds"] = dict(s.timings)
        yield s
    keep = os.environ.get("LIANDONG_TEST_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / "scale-out-figures.json").write_text(json.dumps(FIGURES, ensure_ascii=False, indent=2))
    print("\nscale-out figures:\n" + "\n".join(f"  {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in FIGURES.items()))


def _exports(stack, folder: str, rows: int) -> dict[str, int]:
    """One hotline export per community, each in that community's own drop folder."""
    roster = load_roster(ROSTER)
    made = {}
    for seed, community in enumerate(COMMUNITIES):
        only = roster.model_copy(update={"communities": [c for c in roster.communities if c.id == community]})
        drop = stack.home / folder / community
        drop.mkdir(parents=True)
        # The source is in the file name, so the two communities' exports are two sources.
        generate(drop / f"2026-11-20_{community}热线.csv", rows, only, seed=seed + 11)
        made[community] = rows
    return made


async def _run_all(api: str, requests: list[tuple[str, dict]]) -> list:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with PrefectClient(api) as client:
        runs = []
        for name, parameters in requests:
            deployment = await client.read_deployment_by_name(name)
            runs.append(await client.create_flow_run_from_deployment(deployment.id, parameters=parameters))
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            runs = [await client.read_flow_run(r.id) for r in runs]
            if all(r.state and r.state.is_final() for r in runs):
                break
            await asyncio.sleep(2)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[r.id for r in runs])))
    return runs, artifacts


@pytest.fixture(scope="module")
def runs(stack):
    _exports(stack, "drop", INTAKE_ROWS)
    _exports(stack, "lake-drop", LAKE_ROWS)
    requests = []
    for community in COMMUNITIES:
        requests.append((f"pull-new-cases/intake-{community}", {"as_of": AS_OF}))
        requests.append((f"lake-slice/lake-{community}", {"community": community, "as_of": AS_OF,
                                                           "barrier": "together", "parties": 2}))
    started = time.monotonic()
    flow_runs, artifacts = asyncio.run(_run_all(stack.api, requests))
    FIGURES["four_runs_wall_seconds"] = round(time.monotonic() - started, 1)
    return flow_runs, artifacts


def _logs(stack) -> str:
    return "\n".join(stack.worker_log(c)[-4000:] for c in COMMUNITIES)


def test_two_workers_on_a_postgres_backed_server_split_the_communities(stack, runs):
    flow_runs, _ = runs
    assert [r.state.type.value for r in flow_runs] == ["COMPLETED"] * 4, \
        f"{[(r.name, r.state) for r in flow_runs]}\n{_logs(stack)}"
    for community in COMMUNITIES:
        mine = {str(r.id) for r in flow_runs if r.work_queue_name == community}
        assert len(mine) == 2
        submitted = set(re.findall(rf"Worker 'worker-{community}' submitting flow run '([0-9a-f-]+)'",
                                   stack.worker_log(community)))
        assert submitted == mine, f"worker-{community} ran {submitted}, its queue had {mine}"
        FIGURES.setdefault("runs_per_worker", {})[f"worker-{community}"] = len(submitted)
    FIGURES["run_seconds"] = {f"{r.name} ({r.work_queue_name})": round(r.total_run_time.total_seconds(), 1)
                              for r in flow_runs}
    # The server's state is in PostgreSQL: the runs and both workers' heartbeats are rows there.
    assert int(stack.postgres.psql("SELECT count(*) FROM flow_run", "prefect")) == 4
    workers = stack.postgres.psql("SELECT name FROM worker ORDER BY name", "prefect").split()
    assert workers == ["worker-donghu", "worker-xingguang"]
    assert forbidden_lines(stack.server_log()) == []


def test_product_intake_per_community_shares_the_duckdb_file_through_the_writer_limit(stack, runs):
    flow_runs, _ = runs
    assert all(r.state.is_completed() for r in flow_runs if r.name.startswith("intake"))
    assert "could not set lock" not in _logs(stack).lower()
    with open_warehouse(stack.home / "warehouse.duckdb", read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM cases") == wh.scalar("SELECT count(DISTINCT case_id) FROM cases") \
            == 2 * INTAKE_ROWS
        assert dict(wh.execute("SELECT community_id, count(*) FROM cases GROUP BY ALL").fetchall()) == \
            {c: INTAKE_ROWS for c in COMMUNITIES}
    for community in COMMUNITIES:  # each worker's run read only its community's folder
        assert list((stack.home / "archive").rglob(f"*{community}热线.csv"))


def test_two_flow_runs_write_the_lake_at_once(stack, runs):
    flow_runs, artifacts = runs
    lake_runs = [r for r in flow_runs if r.name.startswith("lake")]
    assert sorted(r.name for r in lake_runs) == ["lake donghu 2026-11-21", "lake xingguang 2026-11-21"]
    assert all(r.state.is_completed() for r in lake_runs)
    reports = {a.key: a.data for a in artifacts if a.key and a.key.startswith("lake-slice-")}
    assert set(reports) == {f"lake-slice-{c}" for c in COMMUNITIES}
    # Attempts and conflicts per stage, as each run reported them (the table rows of its artifact).
    figures = {}
    for key, text in reports.items():
        for stage, attempts, conflicts in re.findall(r"^\| (roster|intake|triage) \| (\d+) \| (\d+) \|", text, re.M):
            figures[f"{key.removeprefix('lake-slice-')}/{stage}"] = {"attempts": int(attempts),
                                                                     "conflicts": int(conflicts)}
    FIGURES["lake_stage_attempts"] = figures
    assert len(figures) == 6
    # Both runs met inside their roster transactions (after deleting, before inserting) and so
    # replaced the roster (synced once by the stack) at once: DuckLake let one commit and refused
    # the other, which the stage retry re-ran.
    assert sum(f["conflicts"] for k, f in figures.items() if k.endswith("/roster")) == 1, reports
    assert "Transaction conflict" in "".join(reports.values())

    settings = load_settings(home=stack.home, warehouse_backend="ducklake", lake={
        "catalog": stack.env["LIANDONG_LAKE__CATALOG"], "catalog_password": stack.postgres.password,
        "data_path": stack.env["LIANDONG_LAKE__DATA_PATH"]})
    with open_warehouse("unused", lake=settings.warehouse_lake(), read_only=True) as wh:
        cases = wh.scalar("SELECT count(*) FROM cases")
        assert cases == wh.scalar("SELECT count(DISTINCT case_id) FROM cases") == 2 * LAKE_ROWS
        assert wh.scalar("SELECT count(DISTINCT (source, source_ref)) FROM cases") == 2 * LAKE_ROWS
        assert dict(wh.execute("SELECT community_id, count(*) FROM cases GROUP BY ALL").fetchall()) == \
            {c: LAKE_ROWS for c in COMMUNITIES}
        assert wh.scalar("SELECT count(*) FROM cases WHERE status = 'new'") == 0  # every case triaged once
        assert wh.scalar("SELECT count(*) FROM case_events WHERE kind = 'received'") == 2 * LAKE_ROWS
        assert wh.scalar("SELECT count(*) FROM case_events") == wh.scalar("SELECT count(DISTINCT event_id) FROM case_events")
        assert wh.scalar("SELECT count(*) FROM communities") == len(load_roster(ROSTER).communities)
        snapshots = wh.scalar("SELECT count(*) FROM lake.snapshots()")
    parquet = list((stack.home / "lake").rglob("*.parquet"))
    assert parquet, "the lake's data is Parquet files under its data path"
    FIGURES["lake"] = {"cases": cases, "snapshots": snapshots, "parquet_files": len(parquet)}


def test_what_ducklake_does_when_two_processes_commit_at_once(stack):
    stack.postgres.create_database("lake_scenarios")
    config = LakeConfig(catalog=stack.env["LIANDONG_LAKE__CATALOG"].replace("liandong_lake", "lake_scenarios"),
                        data_path=f"{stack.home / 'lake-scenarios'}/", password=stack.postgres.password)
    started = time.monotonic()
    found = run_scenarios(config)
    FIGURES["scenarios_seconds"] = round(time.monotonic() - started, 1)
    FIGURES["scenarios"] = {name: {"results": [o.result for o in outcomes], "then": after}
                            for name, (outcomes, after) in found.items()}

    # Two appends: both land; DuckLake retried the second commit itself ...
    outcomes, after = found["append"]
    assert [o.result for o in outcomes] == ["committed", "committed"] and after["case_events"] == 2000
    assert after["distinct_event_ids"] == 2000  # ids from two processes' blocks never collide
    # ... which is what `ducklake_max_retry_count = 0` takes away.
    outcomes, after = found["append-no-retry"]
    assert sorted(o.result for o in outcomes) == ["committed", "conflict"] and after["case_events"] == 1000
    # Two updates of one table (different rows): the second commit is refused; re-run, it lands.
    outcomes, after = found["update"]
    assert sorted(o.result for o in outcomes) == ["committed", "conflict, committed on retry"]
    assert "Transaction conflict" in "".join(e for o in outcomes for e in o.errors) and after["triaged"] == 2
    # Replacing an empty table (a first roster sync) from two processes: nothing deleted, nothing
    # conflicts, every row twice.
    outcomes, after = found["replace-empty"]
    assert [o.result for o in outcomes] == ["committed", "committed"] and after["communities"] == 6
    # No unique keys: intake's max + 1 numbering from two processes hands out the same numbers ...
    outcomes, after = found["numbering"]
    assert [o.result for o in outcomes] == ["committed", "committed"]
    assert (after["cases"], after["distinct_case_ids"]) == (8, 5)
    # ... and INSERT OR IGNORE's replacement skips only rows already committed.
    outcomes, after = found["skip-existing"]
    assert [o.result for o in outcomes] == ["committed", "committed"] and after["source_files"] == 2


def test_which_of_our_sql_the_lake_runs(stack):
    """The SQL features of the product, one by one on the lake (docs/scale-out.md's table)."""
    import duckdb

    stack.postgres.create_database("lake_sql")
    config = LakeConfig(catalog=stack.env["LIANDONG_LAKE__CATALOG"].replace("liandong_lake", "lake_sql"),
                        data_path=f"{stack.home / 'lake-sql'}/", password=stack.postgres.password)
    assert extension_path("ducklake").name == "ducklake.duckdb_extension"
    with open_lake(config) as wh:
        assert "password" not in wh.scalar("SELECT path FROM duckdb_databases() WHERE database_name = 'lake'")
        refused = {
            "PRIMARY KEY": "CREATE TABLE t1 (a INTEGER PRIMARY KEY)",
            "UNIQUE": "CREATE TABLE t2 (a INTEGER, UNIQUE (a))",
            "CREATE SEQUENCE": "CREATE SEQUENCE s1",
            "CREATE INDEX": "CREATE INDEX i1 ON cases (status)",
            "INSERT OR IGNORE": "INSERT OR IGNORE INTO source_watermarks VALUES ('s', now()::TIMESTAMP, now()::TIMESTAMP)",
            # tasks/intake/loading.py's Open311 watermark upsert, verbatim
            "ON CONFLICT": "INSERT INTO source_watermarks VALUES ('s', now()::TIMESTAMP, now()::TIMESTAMP) "
                           "ON CONFLICT (source) DO UPDATE SET watermark = excluded.watermark, "
                           "updated_at = excluded.updated_at",
            # warehouse/queries/assignments_expire.sql (chase-deadlines), verbatim
            "UPDATE … RETURNING": load_query("assignments_expire").replace("$now", "now()::TIMESTAMP"),
        }
        for feature, sql in refused.items():
            with pytest.raises((duckdb.NotImplementedException, duckdb.BinderException, duckdb.CatalogException)):
                wh.execute(sql)
        # What the product uses and the lake runs: UPDATE … FROM, DISTINCT ON, JSON, MERGE INTO (the upsert's
        # replacement), ALTER TABLE ADD COLUMN, sequence defaults through the id blocks, NOT NULL.
        wh.execute("CREATE TEMP TABLE _triage AS SELECT 'LD-2026-000001' AS case_id, 'roads' AS category, "
                   "'normal' AS urgency, 'triaged' AS status, NULL AS reason, NULL AS duplicate_of")
        wh.append("cases", [{"case_id": "LD-2026-000001", "source": "drop:x", "source_ref": "1",
                             "received_at": "2026-11-20", "title": "t", "description": "d", "urgency": "normal",
                             "status": "new", "created_at": "2026-11-20", "updated_at": "2026-11-20"}])
        wh.execute(load_query("triage_apply_verdicts").replace("$now", "now()::TIMESTAMP"))
        assert wh.scalar("SELECT status FROM cases") == "triaged"
        for _ in range(2):
            wh.execute("MERGE INTO source_watermarks w USING (SELECT 's' AS source, now()::TIMESTAMP AS t) n "
                       "ON w.source = n.source WHEN MATCHED THEN UPDATE SET watermark = n.t, updated_at = n.t "
                       "WHEN NOT MATCHED THEN INSERT VALUES (n.source, n.t, n.t)")
        assert wh.scalar("SELECT count(*) FROM source_watermarks") == 1
        wh.execute("INSERT INTO attention_items (kind, reason, created_at) VALUES ('x', 'y', now()::TIMESTAMP)")
        assert wh.scalar("SELECT attention_id FROM attention_items") >= 1 << 32
        with pytest.raises(duckdb.ConstraintException):
            wh.execute("INSERT INTO cases (case_id) VALUES ('no title')")


def test_the_settings_choose_the_backend(tmp_path: Path):
    s = load_settings(home=tmp_path, warehouse_backend="ducklake", lake={"catalog": "dbname=x host=h"})
    assert s.warehouse_lake() is s.lake and s.lake.data_path == f"{tmp_path / 'lake'}/"
    assert load_settings(home=tmp_path).warehouse_lake() is None
    with pytest.raises(Exception, match="catalog_password"):
        LakeConfig.of(s.lake.model_copy(update={"catalog": "dbname=x password=oops"}))
