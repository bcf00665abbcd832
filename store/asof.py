"""The host as the log says it was at an instant, in the connection's TEMP schema.

into_temp() folds the log up to the instant (the nearest snapshot and the tail,
store/snapshots.py) and puts the result in TEMP tables named like the projections,
and a TEMP view `events` that stops at that instant. SQLite looks in the temp schema
first, so every later query of that connection, a command's own included, reads the
past: the commands run unchanged.
"""

from __future__ import annotations

import sqlite3

from mydocker.store.snapshots import backfill_if_needed, state_at


def into_temp(conn: sqlite3.Connection, at: str) -> int:
    """Make conn read the projections (and the log) as of `at` (log time, ISO UTC);
    returns the seq of the last event at or before it (0 before the first)."""
    backfill_if_needed(conn)
    seq, tables = state_at(conn, at)
    conn.execute("PRAGMA temp_store = MEMORY")
    for table, rows in tables.items():
        (sql,) = conn.execute("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?",
                              (table,)).fetchone()
        conn.execute(sql.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
        # one statement per set of columns (a snapshot older than a migration lacks its columns,
        # which then take their defaults): in practice one per table
        by_columns: dict[tuple[str, ...], list[list[object]]] = {}
        for row in rows.values():
            by_columns.setdefault(tuple(row), []).append(list(row.values()))
        for columns, values in by_columns.items():
            conn.executemany(f"INSERT INTO temp.[{table}] ({', '.join(f'[{c}]' for c in columns)})"
                             f" VALUES ({', '.join('?' * len(columns))})", values)
    conn.execute(f"CREATE TEMP VIEW events AS SELECT * FROM main.events WHERE seq <= {int(seq)}")
    return seq
