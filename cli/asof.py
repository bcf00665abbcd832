"""`--at TIME` on the list and inspect commands: the host as the log says it was then.

The command's own code runs unchanged: travel() folds the log up to the instant (the
nearest snapshot and the tail, store/snapshots.py) and puts the result in TEMP tables
named like the projections, and a TEMP view `events` that stops at that instant. SQLite
looks in the temp schema first, so every query of that connection reads the past.
"""

from __future__ import annotations

import argparse
import sqlite3
from datetime import UTC, datetime

AT_HELP = "show the state at this time: RFC 3339, unix seconds or a duration ago (2h, 10m)"


def add_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", type=parse_at, metavar="TIME", help=AT_HELP)


def parse_at(text: str) -> str:
    # the same parser as `events --since`: one set of rules for times users type
    from mydocker.cli.commands.events import parse_when

    return parse_when(text)


def travel(conn: sqlite3.Connection, at: str) -> int:
    """Make conn read the projections (and the log) as of `at`; returns the last seq seen."""
    from mydocker.cli import humanize
    from mydocker.store.snapshots import backfill_if_needed, state_at

    backfill_if_needed(conn)
    seq, tables = state_at(conn, at)
    conn.execute("PRAGMA temp_store = MEMORY")
    for table, rows in tables.items():
        (sql,) = conn.execute("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?",
                              (table,)).fetchone()
        conn.execute(sql.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
        for row in rows.values():
            columns = list(row)
            conn.execute(f"INSERT INTO temp.[{table}] ({', '.join(f'[{c}]' for c in columns)})"
                         f" VALUES ({', '.join('?' * len(columns))})", [row[c] for c in columns])
    conn.execute(f"CREATE TEMP VIEW events AS SELECT * FROM main.events WHERE seq <= {int(seq)}")
    # "Up 3 minutes", "Exited (0) 2 hours ago": as a user would have read them then
    humanize.NOW = min(humanize.parse_time(at), datetime.now(UTC))
    return seq
