"""Opening the database: ROOT/mydocker.db, WAL with synchronous=FULL, busy timeout,
private modes; read-only when a full disk leaves no room for WAL's -shm file
(store/reserve.py); disk-full and corruption errors as one clear line.

Reads on hot paths (ps, inspect, logs) use the plain sqlite3 connection this
returns: importing sqlite-utils costs ~80 ms, more than a whole `ps`. Writes wrap
the same connection in sqlite_utils.Database (see writer()).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

DB_NAME = "mydocker.db"
BUSY_TIMEOUT_MS = 30_000
SQL_TRACE = "MYDOCKER_SQL_TRACE"  # a file to append every statement to (see _trace_into)


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


class DiskFull(sqlite3.OperationalError):
    """The filesystem under ROOT is full: a write was refused, nothing changed."""


class Corrupt(sqlite3.DatabaseError):
    """The database file is damaged; `system check` says where."""


_CORRUPT = ("database disk image is malformed", "file is not a database")


def _corrupt(root: str | Path, exc: sqlite3.DatabaseError) -> Corrupt:
    return Corrupt(f"the database {db_path(root)} is corrupt ({exc}); see 'mydocker system check'")


class _Connection(sqlite3.Connection):
    """Turns SQLite's disk-full and corruption errors into one clear line."""

    root = ""
    read_only = False  # opened without its -shm file on a full disk (see connect)
    trace: tuple[int, int] | None = None  # (fd, pid of the process that opened it): see _trace_into

    def close(self) -> None:
        super().close()
        # only the opener closes it: a fork's fd sweep may have handed the number to another file
        if self.trace is not None and self.trace[1] == os.getpid():
            os.close(self.trace[0])
        self.trace = None

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if text == "database or disk is full" or (self.read_only and "readonly" in text):
                raise DiskFull(f"no space left on the disk under {self.root}: nothing was changed "
                               "(rm, rmi, volume rm and system prune still work)") from None
            raise
        except sqlite3.DatabaseError as exc:
            if str(exc) in _CORRUPT:
                raise _corrupt(self.root, exc) from None
            raise


def connect(root: str | Path) -> sqlite3.Connection:
    """A migrated connection to ROOT/mydocker.db in autocommit mode."""
    from mydocker.store import reserve

    ensure_root(root)
    path = db_path(root)
    if not path.exists():
        # sqlite creates the file with the umask's mode; create it 0600 first.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    while True:
        try:
            conn = _open(path)
            break
        except sqlite3.OperationalError as exc:
            if not (_is_full(exc) and reserve.disk_full(root)):
                raise
            # WAL mode cannot even read without its -shm file, which the last
            # connection deleted and a full disk cannot make again. With no WAL
            # content to miss, read the database file as it is (read-only: writes
            # fail as DiskFull); otherwise pay for the -shm out of the reserve.
            wal = path.with_name(path.name + "-wal")
            if not wal.exists() or wal.stat().st_size == 0:
                conn = _open(path, read_only=True)
                break
            if not reserve.trim(root, reserve.OPEN_SLICE):
                raise DiskFull(f"no space left on the disk under {root}") from None
        except sqlite3.DatabaseError as exc:
            raise (_corrupt(root, exc) if str(exc) in _CORRUPT else exc) from None
    if not conn.read_only:
        reserve.ensure(root)
    from mydocker.store.migrate import migrate_if_needed

    migrate_if_needed(conn)
    return conn


def _open(path: Path, read_only: bool = False) -> _Connection:
    if read_only:
        conn = sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True, factory=_Connection,
                               isolation_level=None)
        conn.read_only, conn.root = True, str(path.parent)
        conn.row_factory = sqlite3.Row
        return conn
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, factory=_Connection)
    conn.root = str(path.parent)
    try:
        if trace := os.environ.get(SQL_TRACE):
            _trace_into(conn, trace)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        # An audit log: a command that reported success must not lose its events to
        # a power cut. FULL syncs the WAL at every commit (NORMAL only at checkpoints).
        conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        conn.close()
        raise
    return conn


def _trace_into(conn: _Connection, path: str) -> None:
    """Every statement this connection runs, parameters bound, as one JSON string per line
    appended to PATH (one write each, so the processes of a command can share the file):
    what a command asks of the log, for people learning how it works and for the test that
    checks no command reads the whole log."""
    import json

    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    conn.trace = (fd, os.getpid())
    conn.set_trace_callback(lambda sql: os.write(fd, (json.dumps(sql) + "\n").encode()))


def _is_full(exc: sqlite3.Error) -> bool:
    return str(exc) in ("disk I/O error", "database or disk is full")


def integrity_problems(root: str | Path) -> list[str]:
    """PRAGMA integrity_check on a connection of its own ([] when the file is sound).
    A file too damaged to open or check is one problem, said in SQLite's words."""
    try:
        conn = sqlite3.connect(f"{db_path(root).as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    rows: list[str] = []
    try:
        for (row,) in conn.execute("PRAGMA integrity_check(20)"):
            rows.append(row)
    except sqlite3.DatabaseError as exc:  # the check itself can trip over the damage
        rows.append(str(exc))
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows


def release_reserve_if_low(root: str | Path) -> bool:
    """For commands that free space, before they open the database: see store/reserve.py."""
    from mydocker.store import reserve

    return reserve.release_if_low(root)


def writer(conn: sqlite3.Connection) -> "sqlite_utils.Database":
    import sqlite_utils

    return sqlite_utils.Database(conn, execute_plugins=False, recursive_triggers=False)
