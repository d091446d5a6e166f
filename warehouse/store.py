"""The one module that owns DuckDB connections.

- `open_warehouse(path)` opens the file, applies pending migrations and yields a `Warehouse`.
- SQL is parameterised; named queries live in `warehouse/queries/<what it answers>.sql`.
- Bulk writes go through Arrow (`append`), never row-by-row `executemany`: 100,000 rows take
  ~0.1 s that way and ~150 s the other.
- DuckDB allows one writing process per file. A second process fails at once on the lock,
  so opening retries with back-off for `lock_timeout` seconds; flows also serialise their
  writes with a Prefect concurrency limit.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

MIGRATIONS = Path(__file__).parent / "migrations"
CONNECTION_CONFIG = {
    # Extensions are never downloaded at run time: the network to DuckDB's repository is closed.
    "autoinstall_known_extensions": False,
    # A writing run shares one connection (liandong/resources.py). At the 16 MB default its
    # commits checkpointed again and again, and each checkpoint rewrites the table's last row
    # group — the whole night's messages, bytes included: 1–3 s each, 40 % of a 100,000-case
    # night. 256 MB keeps it to a few, and bounds what sits in memory unwritten.
    "checkpoint_threshold": "256MB",
    # No memory_limit: at 1 GB a 100,000-case night failed (the indexes and the unwritten rows
    # stay in memory), and a failed night is worse than a large one. See docs/benchmarks.md.
}
QUERIES = Path(__file__).parent / "queries"
_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


class WarehouseError(Exception):
    """The warehouse cannot be opened or migrated; the message is bilingual."""


class Warehouse:
    def __init__(self, con: duckdb.DuckDBPyConnection, path: str):
        self.con = con
        self.path = path
        self._in_transaction = False

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[dict[str, Any]]:
        cur = self.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    def query(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run `warehouse/queries/<name>.sql` with named parameters."""
        return self.rows(load_query(name), params)

    def append(self, table: str, rows: pa.Table | list[dict[str, Any]], *, skip_existing: bool = False) -> int:
        """Insert rows by column name through Arrow; columns not given take their defaults.

        `skip_existing` ignores rows whose primary or unique key is already there (reruns)."""
        data = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows)
        if data.num_rows == 0:
            return 0
        if not re.fullmatch(r"[a-z_]+", table):
            raise ValueError(f"bad table name {table!r}")
        cols = ", ".join(f'"{c}"' for c in data.column_names)
        self.con.register("_append_batch", data)
        try:
            verb = "INSERT OR IGNORE" if skip_existing else "INSERT"
            self.con.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM _append_batch")
        finally:
            self.con.unregister("_append_batch")
        return data.num_rows

    @contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """One transaction; inside another, part of it (all or nothing together, one commit)."""
        if self._in_transaction:
            yield self
            return
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield self
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self._in_transaction = False
        self.con.execute("COMMIT")


def load_query(name: str) -> str:
    path = QUERIES / f"{name}.sql"
    if not path.is_file():
        raise WarehouseError(f"没有这个查询 / no such query: {name}")
    return path.read_text(encoding="utf-8")


def utcnow() -> datetime:
    """Naive UTC, the warehouse's convention. Flows pass `as_of` instead where time matters."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@contextmanager
def open_warehouse(path: Path | str, *, read_only: bool = False, lock_timeout: float = 60.0,
                   lake: Any = None) -> Iterator[Warehouse]:
    if lake is not None:  # the DuckLake backend (settings.warehouse_lake(), warehouse/lake.py): `path` is unused
        from warehouse.lake import open_lake

        with open_lake(lake, read_only=read_only) as warehouse:
            yield warehouse
        return
    path = str(path)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = _connect(path, read_only, lock_timeout)
    try:
        warehouse = Warehouse(con, path)
        if not read_only:
            migrate(warehouse)
        yield warehouse
    finally:
        con.close()


def _connect(path: str, read_only: bool, lock_timeout: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + lock_timeout
    delay = 0.05
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=CONNECTION_CONFIG)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"无法打开数据仓库 / cannot open the warehouse {path}: {exc}") from exc
            if time.monotonic() > deadline:
                raise WarehouseError(
                    f"数据仓库正被另一个进程写入，等待 {lock_timeout:.0f} 秒后仍未释放 / "
                    f"the warehouse {path} is held by another writer after {lock_timeout:.0f} s: {exc}"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def migrations() -> list[tuple[int, str, str]]:
    found = []
    for f in sorted(MIGRATIONS.glob("*.sql")):
        m = _MIGRATION_NAME.match(f.name)
        if not m:
            raise WarehouseError(f"迁移文件名不规范 / badly named migration: {f.name} (want NNN_name.sql)")
        found.append((int(m.group(1)), m.group(2), f.read_text(encoding="utf-8")))
    return found


def migrate(warehouse: Warehouse) -> list[int]:
    """Apply pending migrations, each in its own transaction, and record them."""
    con = warehouse.con
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, checksum VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL)"
    )
    applied = dict(con.execute("SELECT version, checksum FROM schema_migrations").fetchall())
    done = []
    for version, name, sql in migrations():
        checksum = hashlib.sha256(sql.encode()).hexdigest()
        if version in applied:
            if applied[version] != checksum:
                raise WarehouseError(
                    f"已应用的迁移 {version:03d}_{name} 被修改过；请新增迁移而不是修改旧的 / "
                    f"applied migration {version:03d}_{name} was edited; add a new migration instead"
                )
            continue
        with warehouse.transaction():
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?, ?)", [version, name, checksum, utcnow()])
        done.append(version)
    return done
