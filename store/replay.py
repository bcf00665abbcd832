"""Rebuild every projection from the log alone and compare with what is stored."""

from __future__ import annotations

import sqlite3
from typing import Any

from store.events import read_all
from store.projections import PROJECTIONS


def fold_log(conn: sqlite3.Connection) -> dict[str, dict[str, dict[str, Any]]]:
    """{table: {id: row}} as the log says it should be."""
    tables: dict[str, dict[str, dict[str, Any]]] = {t: {} for t, _ in PROJECTIONS.values()}
    for event in read_all(conn):
        table, apply = PROJECTIONS[event.stream_type]
        rows = tables[table]
        new = apply(rows.get(event.stream_id), event)
        if new is None:
            rows.pop(event.stream_id, None)
        else:
            rows[event.stream_id] = new
    return tables


def stored_projections(conn: sqlite3.Connection) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for table, _ in PROJECTIONS.values():
        cursor = conn.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cursor.description]
        out[table] = {row[0]: dict(zip(names, row, strict=True)) for row in cursor}
    return out


def diff(conn: sqlite3.Connection) -> list[str]:
    """Human-readable differences; empty when projections == fold(log)."""
    expected, actual = fold_log(conn), stored_projections(conn)
    lines: list[str] = []
    for table in expected:
        want, have = expected[table], actual[table]
        for key in sorted(want.keys() - have.keys()):
            lines.append(f"{table} {key}: missing from the projection")
        for key in sorted(have.keys() - want.keys()):
            lines.append(f"{table} {key}: in the projection but not in the log")
        for key in sorted(want.keys() & have.keys()):
            for column in sorted(want[key].keys() | have[key].keys()):
                a, b = want[key].get(column), have[key].get(column)
                if a != b:
                    lines.append(f"{table} {key} {column}: log says {a!r}, stored {b!r}")
    return lines
