"""store.migrate: numbered files, each applied exactly once, in one transaction."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from mydocker.store.db import connect
from mydocker.store.migrate import MIGRATIONS_DIR, _statements, apply_migrations, migrate_if_needed, migration_files


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(tmp_path / "state")
    yield c
    c.close()


def schema(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")]


def applied(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name")]


def user_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    """A private copy of the real migrations, to add files to."""
    d = tmp_path / "migrations"
    d.mkdir()
    for path in migration_files():
        shutil.copy(path, d / path.name)
    return d


def next_name(directory: Path, offset: int = 1, slug: str = "add_notes") -> str:
    return f"{len(migration_files(directory)) + offset:04d}_{slug}.sql"


def test_fresh_database_has_every_migration_once(conn: sqlite3.Connection) -> None:
    files = migration_files()
    assert files and files[0].name.startswith("0001_")
    assert applied(conn) == [p.name for p in files]
    assert user_version(conn) == len(files)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"events", "containers", "images", "_migrations"} <= tables


def test_applying_again_is_a_no_op(conn: sqlite3.Connection) -> None:
    before_schema, before_rows = schema(conn), conn.execute("SELECT * FROM _migrations").fetchall()
    assert apply_migrations(conn, migration_files()) == []
    assert migrate_if_needed(conn) == []
    assert schema(conn) == before_schema
    assert conn.execute("SELECT * FROM _migrations").fetchall() == before_rows
    assert not conn.in_transaction


def test_apply_without_user_version_still_skips_recorded_files(conn: sqlite3.Connection) -> None:
    """user_version is only a shortcut: _migrations is what decides."""
    conn.execute("PRAGMA user_version = 0")
    before = schema(conn)
    assert migrate_if_needed(conn) == []
    assert schema(conn) == before
    assert user_version(conn) == len(migration_files())


def test_connecting_again_does_not_migrate_again(tmp_path: Path) -> None:
    first = connect(tmp_path / "state")
    rows = first.execute("SELECT * FROM _migrations").fetchall()
    first.close()
    second = connect(tmp_path / "state")
    try:
        assert second.execute("SELECT * FROM _migrations").fetchall() == rows
    finally:
        second.close()


def test_a_new_migration_is_applied_exactly_once(conn: sqlite3.Connection, mig_dir: Path) -> None:
    name = next_name(mig_dir)
    (mig_dir / name).write_text(
        "-- a note per container\n"
        "CREATE TABLE notes (\n    id TEXT PRIMARY KEY,  -- container id; not a FK\n    body TEXT\n);\n"
        "CREATE INDEX notes_by_body ON notes (body);\n"
    )
    existing = applied(conn)
    assert migrate_if_needed(conn, mig_dir) == [name]
    assert applied(conn) == [*existing, name]
    assert user_version(conn) == len(existing) + 1
    assert conn.execute("SELECT sql FROM sqlite_master WHERE name = 'notes_by_body'").fetchone()
    after = schema(conn)
    assert migrate_if_needed(conn, mig_dir) == []
    assert apply_migrations(conn, migration_files(mig_dir)) == []
    assert schema(conn) == after
    assert applied(conn) == [*existing, name]


def test_a_failing_migration_changes_nothing(conn: sqlite3.Connection, mig_dir: Path) -> None:
    name = next_name(mig_dir, slug="broken")
    (mig_dir / name).write_text("CREATE TABLE half (id INTEGER);\nCREATE TABLE events (x);\n")
    before, version = schema(conn), user_version(conn)
    with pytest.raises(sqlite3.OperationalError):
        migrate_if_needed(conn, mig_dir)
    assert schema(conn) == before
    assert user_version(conn) == version
    assert name not in applied(conn)
    assert not conn.in_transaction


def test_a_gap_in_numbering_raises(conn: sqlite3.Connection, mig_dir: Path) -> None:
    (mig_dir / next_name(mig_dir, offset=2)).write_text("CREATE TABLE skipped (id INTEGER);\n")
    before = schema(conn)
    with pytest.raises(RuntimeError, match="without gaps"):
        migrate_if_needed(conn, mig_dir)
    with pytest.raises(RuntimeError):
        migration_files(mig_dir)
    assert schema(conn) == before


def test_duplicate_number_raises(mig_dir: Path) -> None:
    (mig_dir / "0001_again.sql").write_text("CREATE TABLE again (id INTEGER);\n")
    with pytest.raises(RuntimeError):
        migration_files(mig_dir)


def test_files_that_are_not_migrations_are_ignored(mig_dir: Path) -> None:
    (mig_dir / "README.md").write_text("notes")
    (mig_dir / "0002-Bad-Name.sql").write_text("CREATE TABLE nope (id INTEGER);\n")
    assert [p.name for p in migration_files(mig_dir)] == [p.name for p in migration_files(MIGRATIONS_DIR)]


def test_statement_splitting_keeps_triggers_whole() -> None:
    script = (
        "-- header\n"
        "CREATE TABLE t (a TEXT DEFAULT ';');\n"
        "CREATE TRIGGER t_ro BEFORE UPDATE ON t\n"
        "BEGIN SELECT RAISE(ABORT, 'no; really'); END;\n"
    )
    statements = _statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    with pytest.raises(ValueError):
        _statements("CREATE TABLE t (a TEXT")
