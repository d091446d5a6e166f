"""A throwaway PostgreSQL cluster on loopback for tests and the scale-out demo (Debian's
`postgresql`, 15 on bookworm).

`postgres_server()` runs `initdb` into a fresh folder and `pg_ctl start` on a free 127.0.0.1
port — no systemd, no system cluster, nothing under /var/lib/postgresql — with:
- one superuser `liandong` with a password (scram-sha-256, loopback only: no trust auth, so
  the URLs the product builds are the ones an operator would write, password included);
- its unix socket inside the folder, so nothing needs /var/run/postgresql;
- settings for a small, disposable cluster (fsync off, small shared buffers).
PostgreSQL refuses to run as root: as root the cluster runs as Debian's `postgres` user and the
folder (made with mkdtemp, then handed to that user) is its own; as anyone else it runs as you.

`create_database(name)` adds a database; `url(name, driver)` gives SQLAlchemy URLs
(`postgresql+asyncpg://…` for Prefect) and `libpq(name)` the key=value string DuckLake's
`ducklake:postgres:` catalog takes.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

HOST = "127.0.0.1"
USER = "liandong"
PASSWORD = "pg-test-secret"
ROOT = Path(__file__).resolve().parents[2]


def pg_bin() -> Path | None:
    """The newest installed server's bin folder (/usr/lib/postgresql/<major>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def ensure_installed() -> Path:
    if pg_bin() is None:
        subprocess.run([str(ROOT / "scripts" / "system_deps.sh"), "postgresql"], check=True)
    found = pg_bin()
    if found is None:
        raise RuntimeError("PostgreSQL is not installed (apt package `postgresql`)")
    return found


@dataclass
class Postgres:
    root: Path
    port: int
    bin: Path
    host: str = HOST
    user: str = USER
    password: str = PASSWORD
    started_in: float = 0.0  # seconds from initdb to accepting connections

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def libpq(self, database: str) -> str:
        return f"dbname={database} host={self.host} port={self.port} user={self.user} password={self.password}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run([str(self.bin / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                              "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", database, "-c", sql],
                             env={**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "10"},
                             capture_output=True, text=True, timeout=60)
        if out.returncode:
            raise RuntimeError(f"psql failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return name

    def log(self) -> str:
        path = self.root / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _as_owner(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 120)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            kw.update(user=owner.pw_uid, group=owner.pw_gid, extra_groups=[])
        return subprocess.run(args, cwd=self.root, **kw)

    def init(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        self._chown(pwfile)
        done = self._as_owner([str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user,
                               f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                               "--locale=C.UTF-8", "--no-sync"])
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stdout}\n{done.stderr}")
        pwfile.unlink()
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '{self.host}'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.root}'\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                       "shared_buffers = 64MB\nmax_connections = 200\n")

    def start(self) -> None:
        done = self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "postgres.log"),
                               "-w", "-t", "120", "start"])
        if done.returncode:
            raise RuntimeError(f"PostgreSQL did not start: {done.stdout}\n{self.log()[-2000:]}")

    def stop(self) -> None:
        self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"])

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(path, owner.pw_uid, owner.pw_gid)


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A fresh cluster for the block; stopped and deleted afterwards."""
    started = time.monotonic()
    bin_dir = ensure_installed()
    root = Path(tempfile.mkdtemp(prefix="liandong-postgres-"))
    server = Postgres(root, free_port(), bin_dir)
    try:
        server._chown(root)
        server.init()
        server.start()
        server.started_in = time.monotonic() - started
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)



if __name__ == "__main__":  # a cluster by hand: python -m tests.support.postgres
    with postgres_server() as pg:
        print(f"PostgreSQL on {pg.host}:{pg.port} (user {pg.user}), ready in {pg.started_in:.1f} s; Ctrl-C stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
