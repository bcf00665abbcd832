"""Opening the database: ROOT/mydocker.db, WAL, busy timeout, private modes.

Reads on hot paths (ps, inspect, logs) use the plain sqlite3 connection this
returns: importing sqlite-utils costs ~80 ms, more than a whole `ps`. Writes wrap
the same connection in sqlite_utils.Database (see writer()).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

DB_NAME = "mydocker.db"
BUSY_TIMEOUT_MS = 30_000


def db_path(root: str | Path) -> Path:
    return Path(root) / DB_NAME


def ensure_root(root: str | Path) -> Path:
    """Create the state root 0700 (and refuse to use a world-readable one we made)."""
    path = Path(root)
    if not path.is_dir():
        old = os.umask(0o077)
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        finally:
            os.umask(old)
    return path


def connect(root: str | Path) -> sqlite3.Connection:
    """A migrated connection to ROOT/mydocker.db in autocommit mode."""
    ensure_root(root)
    path = db_path(root)
    if not path.exists():
        # sqlite creates the file with the umask's mode; create it 0600 first.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    from mydocker.store.migrate import migrate_if_needed

    migrate_if_needed(conn)
    return conn


def writer(conn: sqlite3.Connection) -> "sqlite_utils.Database":
    import sqlite_utils

    return sqlite_utils.Database(conn, execute_plugins=False, recursive_triggers=False)
