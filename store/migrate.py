"""Schema migrations: migrations/NNNN_*.sql, applied in order through sqlite-utils,
each recorded in `_migrations` and never run twice.

PRAGMA user_version holds how many are applied, so the common case (nothing to do)
costs one pragma and one directory listing, with no sqlite-utils import.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    files = sorted(p for p in directory.iterdir() if _NAME.match(p.name))
    numbers = [int(_NAME.match(p.name).group(1)) for p in files]  # type: ignore[union-attr]
    if numbers != list(range(1, len(files) + 1)):
        raise RuntimeError(f"migrations must be numbered 0001.. without gaps: {numbers}")
    return files


def migrate_if_needed(conn: sqlite3.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    files = migration_files(directory)
    if conn.execute("PRAGMA user_version").fetchone()[0] == len(files):
        return []
    return apply_migrations(conn, files)


def apply_migrations(conn: sqlite3.Connection, files: list[Path]) -> list[str]:
    """Apply the files not yet recorded; returns the names applied now."""
    from mydocker.store.db import writer

    db = writer(conn)
    applied: list[str] = []
    # IMMEDIATE: two first commands on a fresh root must not both migrate.
    conn.execute("BEGIN IMMEDIATE")
    try:
        if "_migrations" not in db.table_names():
            db.table("_migrations").create({"name": str, "applied_at": str}, pk="name")
        done = {row["name"] for row in db["_migrations"].rows}
        for path in files:
            if path.name in done:
                continue
            with db.atomic():
                # executescript() would COMMIT our transaction; run statement by statement.
                for statement in _statements(path.read_text()):
                    db.execute(statement)
                db.table("_migrations").insert(
                    {"name": path.name, "applied_at": datetime.now(UTC).isoformat()}
                )
            applied.append(path.name)
        conn.execute(f"PRAGMA user_version = {len(files)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return applied


def _statements(script: str) -> list[str]:
    """Split a script into complete statements (sqlite3.complete_statement knows
    about BEGIN...END in triggers and semicolons in strings)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        if not current and line.strip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement at end of migration: {current[:60]!r}")
    return statements
