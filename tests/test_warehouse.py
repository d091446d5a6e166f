"""The warehouse file: migrations applied on open, idempotent, recorded; the single-writer lock."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import warehouse.store as store
from warehouse.store import WarehouseError, open_warehouse


def test_migrations_are_applied_once_and_recorded(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    with open_warehouse(path) as wh:
        first = wh.rows("SELECT version, name FROM schema_migrations")
    with open_warehouse(path) as wh:
        assert wh.rows("SELECT version, name FROM schema_migrations") == first
    assert first[0] == {"version": 1, "name": "lifecycle"}


def test_new_migration_applies_to_an_existing_file_with_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "w.duckdb"
    with open_warehouse(path) as wh:
        wh.execute("INSERT INTO source_watermarks VALUES ('open311:x', TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01')")
    migrations = tmp_path / "migrations"
    shutil.copytree(store.MIGRATIONS, migrations)
    (migrations / "900_add_note.sql").write_text("ALTER TABLE source_watermarks ADD COLUMN note VARCHAR;")
    monkeypatch.setattr(store, "MIGRATIONS", migrations)
    with open_warehouse(path) as wh:
        assert wh.rows("SELECT source, note FROM source_watermarks") == [{"source": "open311:x", "note": None}]
        assert wh.scalar("SELECT max(version) FROM schema_migrations") == 900

    # Editing an applied migration is refused loudly instead of diverging silently.
    (migrations / "900_add_note.sql").write_text("ALTER TABLE source_watermarks ADD COLUMN other VARCHAR;")
    with pytest.raises(WarehouseError, match="was edited"):
        with open_warehouse(path):
            pass


def test_failed_migration_leaves_the_file_at_the_previous_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "w.duckdb"
    with open_warehouse(path):
        pass
    current = max(version for version, _, _ in store.migrations())
    migrations = tmp_path / "migrations"
    shutil.copytree(store.MIGRATIONS, migrations)
    (migrations / "901_broken.sql").write_text("CREATE TABLE half (x INT); SELECT * FROM no_such_table;")
    monkeypatch.setattr(store, "MIGRATIONS", migrations)
    with pytest.raises(Exception, match="no_such_table"):
        with open_warehouse(path):
            pass
    monkeypatch.setattr(store, "MIGRATIONS", store.Path(store.__file__).parent / "migrations")
    with open_warehouse(path) as wh:
        assert wh.scalar("SELECT max(version) FROM schema_migrations") == current
        assert wh.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'half'") == 0


def test_second_writer_waits_then_fails_with_a_clear_message(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(30)"
    ), str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseError, match="another writer"):
            with open_warehouse(path, lock_timeout=1.0):
                pass
    finally:
        holder.kill()
        holder.wait()
    with open_warehouse(path, lock_timeout=10) as wh:  # the lock is gone with the process
        assert wh.scalar("SELECT 1") == 1


def test_a_transaction_inside_another_is_part_of_it(tmp_path: Path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        wh.execute("CREATE TABLE notes (n INTEGER)")
        with pytest.raises(RuntimeError), wh.transaction():
            wh.execute("INSERT INTO notes VALUES (1)")
            with wh.transaction():
                wh.execute("INSERT INTO notes VALUES (2)")
            raise RuntimeError("the outer part fails after the inner one finished")
        assert wh.scalar("SELECT count(*) FROM notes") == 0  # all or nothing together
        with wh.transaction():
            with wh.transaction():
                wh.execute("INSERT INTO notes VALUES (3)")
            wh.execute("INSERT INTO notes VALUES (4)")
    with open_warehouse(tmp_path / "w.duckdb", read_only=True) as wh:
        assert wh.scalar("SELECT list(n ORDER BY n) FROM notes") == [3, 4]
