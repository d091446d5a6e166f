"""The scale-out stack on one machine, for scripts/scale_out_demo.sh and tests/test_scale_out.py:

1. a throwaway PostgreSQL cluster (tests/support/postgres.py) with two databases: `prefect`
   (the Prefect server's) and `liandong_lake` (the DuckLake catalog);
2. `prefect server start` on loopback with PREFECT_SERVER_DATABASE_CONNECTION_URL=postgresql+asyncpg://…;
3. the process work pool `liandong-scale` and the deployments of scripts/scale_out/prefect.yaml
   (one work queue per community);
4. two process workers, `worker-xingguang` on queue `xingguang` and `worker-donghu` on `donghu`.

Each step's time is kept in `Stack.timings`. Processes are stopped in reverse order (workers
before the server: a worker whose server vanished keeps retrying).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.postgres import Postgres, postgres_server  # noqa: E402

POOL = "liandong-scale"
COMMUNITIES = ("xingguang", "donghu")
PREFECT = ROOT / ".venv" / "bin" / "prefect"


@dataclass
class Stack:
    home: Path
    postgres: Postgres
    api: str
    env: dict[str, str]
    logs: Path
    timings: dict[str, float] = field(default_factory=dict)
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    def worker_log(self, community: str) -> str:
        return (self.logs / f"worker-{community}.log").read_text(errors="replace")

    def server_log(self) -> str:
        return (self.logs / "prefect-server.log").read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(log, "ab") as sink:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen, sig: int, timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


def _run(args: list[str], env: dict[str, str], what: str, timeout: float = 300) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


_INIT_LAKE = """
from liandong.roster import load_roster
from liandong.settings import load_settings
from tasks.roster.sync import sync_roster
from warehouse.store import open_warehouse
settings = load_settings(warehouse_backend="ducklake")
with open_warehouse(settings.warehouse_path, lake=settings.warehouse_lake()) as wh:
    print(sync_roster(wh, load_roster(settings.roster_path)))
"""


@contextmanager
def scale_out_stack(home: Path, *, roster: Path | None = None, worker_limit: int = 2,
                    server_timeout: float = 300, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    home = home.resolve()
    logs = home / "log"
    logs.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    with ExitStack() as stack:
        started = time.monotonic()
        pg = stack.enter_context(postgres_server())
        pg.create_database("prefect")
        pg.create_database("liandong_lake")
        timings["postgres"] = round(time.monotonic() - started, 1)

        port = _free_port()
        api = f"http://127.0.0.1:{port}/api"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LIANDONG_"))}
        env.update({
            "PREFECT_HOME": str(home / "prefect"), "PREFECT_API_URL": api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": pg.url("prefect"),
            "LIANDONG_HOME": str(home), "LIANDONG_SETTINGS_FILE": str(home / "no-settings-file.yaml"),
            "LIANDONG_ROSTER_PATH": str(roster or ROOT / "demo" / "roster.yaml"),
            # The lake (used by the deployments that set LIANDONG_WAREHOUSE_BACKEND=ducklake).
            "LIANDONG_LAKE__CATALOG": f"dbname=liandong_lake host={pg.host} port={pg.port} user={pg.user}",
            "LIANDONG_LAKE__CATALOG_PASSWORD": pg.password,
            "LIANDONG_LAKE__DATA_PATH": f"{home / 'lake'}/",
            **(extra_env or {}),
        })
        (home / "prefect").mkdir(parents=True, exist_ok=True)

        started = time.monotonic()
        server = _spawn([str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                        logs / "prefect-server.log", env)
        stack.callback(_stop, server, signal.SIGTERM)
        deadline = time.monotonic() + server_timeout
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log = (logs / "prefect-server.log").read_text(errors="replace")
                raise RuntimeError(f"the Prefect server did not start:\n{log[-3000:]}")
            time.sleep(1)
        timings["server"] = round(time.monotonic() - started, 1)

        started = time.monotonic()
        _run([str(PREFECT), "work-pool", "create", POOL, "--type", "process", "--overwrite"], env, "work-pool create")
        _run([str(PREFECT), "--no-prompt", "deploy", "--all", "--prefect-file",
              str(Path("scripts") / "scale_out" / "prefect.yaml")], env, "deploy")
        timings["pool_and_deploy"] = round(time.monotonic() - started, 1)

        # Create the lake and sync the roster once, before any writer: two first syncs at once
        # would both find the dimension tables empty, delete nothing, conflict on nothing and
        # leave every roster row twice (lake_conflicts.py, "replace-empty").
        started = time.monotonic()
        _run([sys.executable, "-c", _INIT_LAKE], env, "lake init")
        timings["lake_init"] = round(time.monotonic() - started, 1)

        s = Stack(home, pg, api, env, logs, timings)
        started = time.monotonic()
        for community in COMMUNITIES:
            proc = _spawn([str(PREFECT), "worker", "start", "--pool", POOL, "--work-queue", community,
                           "--name", f"worker-{community}", "--limit", str(worker_limit)],
                          logs / f"worker-{community}.log", env)
            stack.callback(_stop, proc, signal.SIGINT)
            s.workers[community] = proc
        deadline = time.monotonic() + 180
        while not all("started!" in s.worker_log(c).lower() or "polling" in s.worker_log(c).lower()
                      for c in COMMUNITIES):
            for c, proc in s.workers.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"worker-{c} stopped:\n{s.worker_log(c)[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start:\n" + "\n".join(s.worker_log(c)[-1500:] for c in COMMUNITIES))
            time.sleep(0.5)
        timings["workers"] = round(time.monotonic() - started, 1)
        yield s
