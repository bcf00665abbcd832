"""Rebuild every projection from the log alone and compare with what is stored."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from mydocker.store.events import Event
from mydocker.store.projections import PROJECTIONS

# Events whose payload no fold reads: replay skips decoding their JSON, which
# is most of the cost of folding a long log (stop, kill, destroy...).
_PAYLOAD_UNUSED = frozenset({"stop", "kill", "destroying", "destroy", "exec_start", "exec_die",
                             "start_aborted", "delete"})


def fold_log(conn: sqlite3.Connection) -> dict[str, dict[str, dict[str, Any]]]:
    """{table: {id: row}} as the log says it should be."""
    tables: dict[str, dict[str, dict[str, Any]]] = {t: {} for t, _ in PROJECTIONS.values()}
    folds = {stype: (tables[table], apply) for stype, (table, apply) in PROJECTIONS.items()}
    loads = json.loads
    event = Event("")
    cursor = conn.execute("SELECT stream_id, stream_type, version, type, time, payload FROM events ORDER BY seq")
    for sid, stype, version, etype, time, payload in cursor:
        rows, apply = folds[stype]
        event.stream_id, event.stream_type, event.version, event.type, event.time = sid, stype, version, etype, time
        event.payload = {} if etype in _PAYLOAD_UNUSED else loads(payload)
        new = apply(rows.get(sid), event)
        if new is None:
            rows.pop(sid, None)
        else:
            rows[sid] = new
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
