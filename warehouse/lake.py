"""The warehouse on DuckLake: many writing processes, the catalog in PostgreSQL, the data as
Parquet files (docs/scale-out.md). `open_warehouse(path, lake=settings.warehouse_lake())`
comes here; everything else in the product keeps talking to a `Warehouse`.

How it stays the same warehouse:
- **Offline extensions.** DuckLake and the PostgreSQL client are PyPI wheels pinned to DuckDB's
  version (`duckdb-extension-ducklake`, `duckdb-extension-postgres-scanner`); each ships
  `<package>/extensions/v<duckdb version>/<name>.duckdb_extension`, which is LOADed by path.
  Nothing is downloaded or installed into ~/.duckdb.
- **`USE lake`.** The lake is attached and made the default catalog, so every query in
  `warehouse/queries/` and every statement of the tasks runs unchanged against it.
- **One schema, derived.** DuckLake has no PRIMARY KEY, UNIQUE, CHECK, indexes or sequences.
  The lake's tables are derived from the DuckDB migrations: they are applied to an in-memory
  DuckDB, and its catalog (columns, types, NOT NULL, defaults) is created in the lake without
  the keys. New migrations add tables and columns the same way (`migrate_lake`).
- **Keys kept by the store.** The keys the migrations declare are remembered: `append(...,
  skip_existing=True)` (DuckDB's `INSERT OR IGNORE`) becomes an anti-join on them. That skips
  rows already committed, NOT rows another writer is committing at the same moment: DuckLake
  merges two concurrent appends without complaint, so uniqueness across concurrent writers is
  the application's job (docs/scale-out.md, "What concurrency does").
- **Ids without sequences.** `DEFAULT nextval('case_event_ids')` (and the other two) become
  `DEFAULT nextval('temp.main.liandong_ids')`, a per-connection temporary sequence whose range
  is a block of 2^32 ids reserved from a real sequence in the catalog database (PostgreSQL's
  `nextval` is atomic across processes), so ids never collide and grow with connection order.
- **Secrets.** The catalog password goes into a temporary DuckDB secret (`META_SECRET`), not
  into the ATTACH string, so it is not in `duckdb_databases()` or in error messages.

Only PostgreSQL catalogs are supported (the id blocks need its sequences); that is what was run.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from warehouse.store import Warehouse, WarehouseError, migrations, utcnow

ID_SEQUENCE = "temp.main.liandong_ids"
ID_BLOCKS = "liandong_id_blocks"  # the sequence in the catalog database that hands out id blocks
ID_BLOCK_BITS = 32
WHEELS = {"ducklake": "duckdb_extension_ducklake", "postgres_scanner": "duckdb_extension_postgres_scanner"}
_DATA_STATEMENT = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|COPY)\b", re.IGNORECASE | re.MULTILINE)
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LakeConfig:
    catalog: str                # libpq key=value of the catalog database, no password
    data_path: str              # folder or URL of the Parquet files
    password: str | None = None
    alias: str = "lake"
    max_retry_count: int = 20
    retry_wait_ms: int = 100
    retry_backoff: float = 1.5

    @classmethod
    def of(cls, lake: Any) -> LakeConfig:
        """From `LakeSettings` (liandong/settings.py) or anything with the same attributes."""
        if isinstance(lake, LakeConfig):
            return lake
        password = getattr(lake, "catalog_password", None)
        if password is not None and hasattr(password, "get_secret_value"):
            password = password.get_secret_value()
        data_path = str(lake.data_path)
        if "://" not in data_path:  # a local folder: absolute, with the trailing slash DuckLake wants
            data_path = str(Path(data_path).resolve()) + "/"
        catalog = lake.catalog.removeprefix("postgres:")
        if not catalog.strip():
            raise WarehouseError("DuckLake 的目录库未配置 / lake.catalog is empty (libpq: dbname=… host=… user=…)")
        if re.search(r"\bpassword\s*=", catalog):
            raise WarehouseError("请把目录库密码放在 lake.catalog_password / put the catalog password in "
                                 "lake.catalog_password (LIANDONG_LAKE__CATALOG_PASSWORD), not in lake.catalog")
        return cls(catalog=catalog, data_path=data_path, password=password, alias=lake.alias,
                   max_retry_count=lake.max_retry_count, retry_wait_ms=lake.retry_wait_ms,
                   retry_backoff=lake.retry_backoff)


def extension_path(name: str) -> Path:
    """Where the `duckdb-extension-<name>` wheel keeps the binary for the installed DuckDB."""
    package = WHEELS[name]
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise WarehouseError(f"缺少 DuckDB 扩展 / the {name} extension wheel is not installed: "
                             f"`uv add duckdb-extension-{name.replace('_', '-')}=={duckdb.__version__}`") from exc
    path = Path(str(root)) / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise WarehouseError(f"扩展与 DuckDB 版本不符 / no {name} extension for DuckDB {duckdb.__version__} in {root}")
    return path


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- the schema ---------------------------------------------------------------------------------

@dataclass
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None


@dataclass
class Schema:
    """The warehouse as the DuckDB migrations leave it: tables, columns and declared keys."""

    versions: list[tuple[int, str, str]]                     # (version, name, checksum)
    tables: dict[str, list[Column]]
    keys: dict[str, list[list[str]]] = field(default_factory=dict)  # PRIMARY KEY first, then UNIQUE
    sequences: set[str] = field(default_factory=set)


@lru_cache(maxsize=1)
def reference_schema() -> Schema:
    from warehouse.store import migrate

    con = duckdb.connect(":memory:")
    try:
        migrate(Warehouse(con, ":memory:"))
        versions = [(v, name, hashlib.sha256(sql.encode()).hexdigest()) for v, name, sql in migrations()]
        for v, name, sql in migrations():
            if _DATA_STATEMENT.search(_strip_comments(sql)):
                raise WarehouseError(f"迁移 {v:03d}_{name} 含数据语句，DuckLake 需要为它写专门的版本 / migration "
                                     f"{v:03d}_{name} moves data; the lake cannot derive it from the schema")
        tables: dict[str, list[Column]] = {}
        for table, column, dtype, nullable, default in con.execute(
                "SELECT table_name, column_name, data_type, is_nullable, column_default FROM duckdb_columns() "
                "WHERE schema_name = 'main' AND NOT internal AND table_name <> 'schema_migrations' "
                "ORDER BY table_name, column_index").fetchall():
            tables.setdefault(table, []).append(Column(column, dtype, not nullable, default))
        keys: dict[str, list[list[str]]] = {}
        for table, kind, columns in con.execute(
                "SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() "
                "WHERE schema_name = 'main' AND constraint_type IN ('PRIMARY KEY', 'UNIQUE') "
                "ORDER BY table_name, constraint_type = 'UNIQUE', constraint_index").fetchall():
            keys.setdefault(table, []).append(list(columns))
        sequences = {r[0] for r in con.execute("SELECT sequence_name FROM duckdb_sequences()").fetchall()}
        return Schema(versions, tables, keys, sequences)
    finally:
        con.close()


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _lake_default(default: str | None, sequences: set[str]) -> str | None:
    """A declared default as the lake can hold it: sequences become the per-connection id sequence."""
    if default is None:
        return None
    m = re.fullmatch(r"nextval\('([a-z_]+)'\)", default)
    if m and m.group(1) in sequences:
        return f"nextval('{ID_SEQUENCE}')"
    return default


def _column_ddl(column: Column, sequences: set[str], *, added: bool = False) -> str:
    ddl = f'"{column.name}" {column.type}'
    default = _lake_default(column.default, sequences)
    if default is not None:
        ddl += f" DEFAULT {default}"
    if column.not_null and not added:  # an added column is nullable, as the DuckDB migrations do it
        ddl += " NOT NULL"
    return ddl


# --- the warehouse on the lake -----------------------------------------------------------------

class LakeWarehouse(Warehouse):
    """A `Warehouse` whose default catalog is the lake; keys are kept by `append`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str, schema: Schema):
        super().__init__(con, path)
        self.schema = schema

    def append(self, table: str, rows: pa.Table | list[dict[str, Any]], *, skip_existing: bool = False) -> int:
        keys = self.schema.keys.get(table, [])
        if not skip_existing or not keys:
            return super().append(table, rows)
        data = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows)
        if data.num_rows == 0:
            return 0
        if not re.fullmatch(r"[a-z_]+", table):
            raise ValueError(f"bad table name {table!r}")
        given = set(data.column_names)
        usable = [k for k in keys if set(k) <= given]
        cols = ", ".join(f'"{c}"' for c in data.column_names)
        first = ", ".join(f'"{c}"' for c in usable[0]) if usable else None
        # INSERT OR IGNORE also drops repeats inside the batch: keep one row per first key.
        source = f"SELECT DISTINCT ON ({first}) * FROM _append_batch" if first else "SELECT * FROM _append_batch"
        absent = " AND ".join(
            f"NOT EXISTS (SELECT 1 FROM {table} t WHERE " + " AND ".join(f't."{c}" = b."{c}"' for c in key) + ")"
            for key in usable) or "TRUE"
        self.con.register("_append_batch", data)
        try:
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM ({source}) b WHERE {absent}")
        finally:
            self.con.unregister("_append_batch")
        return data.num_rows


def connect_lake(lake: Any, *, read_only: bool = False) -> tuple[duckdb.DuckDBPyConnection, LakeConfig]:
    config = LakeConfig.of(lake)
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False})
    try:
        con.execute("SET enable_progress_bar = false")  # no bars in flow logs
        for name in ("ducklake", "postgres_scanner"):
            con.execute(f"LOAD {_quote(str(extension_path(name)))}")
        secret = f"{config.alias}_catalog_secret"
        password = f", PASSWORD {_quote(config.password)}" if config.password else ""
        con.execute(f"CREATE TEMPORARY SECRET {secret} (TYPE postgres{password})")
        options = [f"DATA_PATH {_quote(config.data_path)}", f"META_SECRET {_quote(secret)}"]
        if read_only:
            options.append("READ_ONLY")
        _attach(con, f"ATTACH {_quote('ducklake:postgres:' + config.catalog)} AS {config.alias} ({', '.join(options)})")
        con.execute(f"USE {config.alias}")
        con.execute(f"SET ducklake_max_retry_count = {config.max_retry_count}")
        con.execute(f"SET ducklake_retry_wait_ms = {config.retry_wait_ms}")
        con.execute(f"SET ducklake_retry_backoff = {config.retry_backoff}")
        if not read_only:
            _reserve_ids(con, config, secret)
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(f"无法连接 DuckLake / cannot open the lake ({config.catalog}): {exc}") from exc
    except BaseException:
        con.close()
        raise
    return con, config


def _attach(con: duckdb.DuckDBPyConnection, sql: str, attempts: int = 10) -> None:
    """ATTACH, again when another process was creating the catalog's tables at the same moment
    (the first writers of a fresh lake race in PostgreSQL: `pg_type_typname_nsp_index`)."""
    for attempt in range(1, attempts + 1):
        try:
            con.execute(sql)
            return
        except duckdb.Error as exc:
            text = str(exc)
            racing = "duplicate key value" in text or ("already exists" in text and "ducklake_" in text)
            if attempt == attempts or not racing:
                raise
            log.warning("DuckLake 目录库正由另一进程初始化，重试 / the lake's catalog was being created by another "
                        "process; attaching again (%d)", attempt)
            time.sleep(0.3 * attempt)


def _reserve_ids(con: duckdb.DuckDBPyConnection, config: LakeConfig, secret: str) -> None:
    """A block of 2^32 ids for this connection, from a sequence in the catalog database."""
    catalog = f"{config.alias}_catalog"
    con.execute(f"ATTACH {_quote(config.catalog)} AS {catalog} (TYPE postgres, SECRET {secret})")
    for attempt in range(5):
        try:  # CREATE SEQUENCE IF NOT EXISTS can still race in PostgreSQL on a fresh catalog
            con.execute(f"CALL postgres_execute('{catalog}', 'CREATE SEQUENCE IF NOT EXISTS {ID_BLOCKS}')")
            break
        except duckdb.Error:
            if attempt == 4:
                raise
            time.sleep(0.2)
    block = con.execute(f"SELECT * FROM postgres_query('{catalog}', 'SELECT nextval(''{ID_BLOCKS}'')')").fetchone()[0]
    start = int(block) << ID_BLOCK_BITS
    con.execute(f"CREATE TEMP SEQUENCE liandong_ids START WITH {start} MAXVALUE {start + (1 << ID_BLOCK_BITS) - 1}")
    con.execute(f"DETACH {catalog}")


@contextmanager
def open_lake(lake: Any, *, read_only: bool = False) -> Iterator[LakeWarehouse]:
    con, config = connect_lake(lake, read_only=read_only)
    try:
        warehouse = LakeWarehouse(con, f"ducklake:{config.alias}", reference_schema())
        if not read_only:
            migrate_lake(warehouse)
        yield warehouse
    finally:
        con.close()


def migrate_lake(wh: LakeWarehouse, attempts: int = 10) -> list[int]:
    """Bring the lake's tables and columns up to the migrations; record the versions.

    Two processes opening a fresh lake at once both try to create the tables; DuckLake lets one
    commit and fails the other, which then finds the work done."""
    return retry_on_conflict(lambda: _migrate_once(wh), attempts=attempts)


def _migrate_once(wh: LakeWarehouse) -> list[int]:
    schema = wh.schema
    con = wh.con
    alias = con.execute("SELECT current_database()").fetchone()[0]
    existing: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                     "WHERE database_name = ? AND schema_name = 'main'", [alias]).fetchall():
        existing.setdefault(table, set()).add(column)
    recorded: dict[int, str] = {}
    if "schema_migrations" in existing:
        recorded = dict(con.execute("SELECT version, checksum FROM schema_migrations").fetchall())
    for version, name, checksum in schema.versions:
        if version in recorded and recorded[version] != checksum:
            raise WarehouseError(
                f"已应用的迁移 {version:03d}_{name} 被修改过；请新增迁移而不是修改旧的 / "
                f"applied migration {version:03d}_{name} was edited; add a new migration instead")
    pending = [v for v in schema.versions if v[0] not in recorded]
    missing_tables = [t for t in schema.tables if t not in existing]
    missing_columns = [(t, c) for t, cols in schema.tables.items() if t in existing
                       for c in cols if c.name not in existing[t]]
    if not pending and not missing_tables and not missing_columns:
        return []
    with wh.transaction():
        if "schema_migrations" not in existing:
            con.execute("CREATE TABLE schema_migrations (version INTEGER NOT NULL, name VARCHAR NOT NULL, "
                        "checksum VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")
        for table in missing_tables:
            columns = ", ".join(_column_ddl(c, schema.sequences) for c in schema.tables[table])
            con.execute(f"CREATE TABLE {table} ({columns})")
        for table, column in missing_columns:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {_column_ddl(column, schema.sequences, added=True)}")
        for version, name, checksum in pending:
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?, ?)", [version, name, checksum, utcnow()])
    return [v for v, _, _ in pending]


# --- conflicts ---------------------------------------------------------------------------------

def is_conflict(exc: BaseException) -> bool:
    """DuckLake refused a commit because another writer changed what this transaction touched."""
    text = str(exc).lower()
    # "Transaction conflict - …" (a real overlap), or DuckLake's own snapshot retries ran out.
    return isinstance(exc, duckdb.Error) and ("transaction conflict" in text or "maximum retry count" in text)


def retry_on_conflict(work: Callable[[], T], *, attempts: int = 5, wait: float = 0.2,
                      on_conflict: Callable[[int, BaseException], None] | None = None) -> T:
    """Run `work` again when its commit conflicted; `work` must start its own transaction(s)
    and be safe to repeat (each stage of the product re-reads what it acts on)."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except duckdb.Error as exc:
            if not is_conflict(exc) or attempt == attempts:
                raise
            if on_conflict:
                on_conflict(attempt, exc)
            time.sleep(wait * attempt)
    raise AssertionError("unreachable")
