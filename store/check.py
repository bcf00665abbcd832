"""`replay --check`: the stored projections and every snapshot against the log.

One pass over the log: fold up to each snapshot's seq and compare, then on to the
end and compare with the projection tables."""

from __future__ import annotations

import sqlite3
import zlib

from mydocker.store.replay import compare, empty_tables, fold_range, stored_projections
from mydocker.store.snapshots import decode


def check(conn: sqlite3.Connection) -> list[str]:
    lines: list[str] = []
    start, tables = 0, empty_tables()
    for seq, blob in conn.execute("SELECT seq, state FROM snapshots ORDER BY seq").fetchall():
        fold_range(conn, tables, start, seq)
        start = seq
        try:
            stored = decode(blob)
        except (zlib.error, ValueError) as exc:
            lines.append(f"snapshot {seq}: unreadable ({exc})")
            continue
        lines.extend(compare(tables, stored, f"snapshot {seq}: "))
    fold_range(conn, tables, start)
    lines.extend(compare(tables, stored_projections(conn)))
    return lines
