"""Rebuild every projection from the log alone and compare with what is stored.

One fold (fold_range) serves replay, `--at` (from the nearest snapshot) and the
snapshots themselves: the apply functions of store/projections.py, nothing else.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from mydocker.store.events import Event
from mydocker.store.projections import PROJECTIONS, encode_row

Tables = dict[str, dict[str, dict[str, Any]]]

# Events whose payload no fold reads: replay skips decoding their JSON, which
# is most of the cost of folding a long log (stop, kill, destroy...).
_PAYLOAD_UNUSED = frozenset({"stop", "kill", "destroying", "destroy", "exec_start", "exec_die",
                             "start_aborted", "delete"})


_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set in __init__, not in the stubs


def _loads(text: Any) -> Any:
    """json.loads, a quarter cheaper for what append() writes (no whitespace around the
    value): its Python wrapper costs as much as the C scan of a small payload, and
    replay decodes hundreds of thousands. Anything else gets json.loads itself."""
    try:
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except Exception:  # noqa: BLE001 - json.loads says what is wrong with it, or takes it
        pass
    return json.loads(text)


def empty_tables() -> Tables:
    return {table: {} for table, _ in PROJECTIONS.values()}


def fold_range(conn: sqlite3.Connection, tables: Tables, after_seq: int = 0, upto_seq: int | None = None,
               every: int = 0, on_boundary: Callable[[int, str, Tables], None] | None = None,
               seqs: str = "", stops: list[int] | None = None,
               on_stop: Callable[[int, Tables], None] | None = None) -> Tables:
    """Fold the events with after_seq < seq <= upto_seq into `tables` (changed in place);
    if `seqs` names a table (seq INTEGER PRIMARY KEY), only those events.

    With `stops` (ascending seqs) calls on_stop(seq, tables) once the fold is at each.

    With `every` and `on_boundary`, calls on_boundary(seq, time, tables) after the first
    event of each new block of `every` sequence numbers: where append() takes a snapshot
    too (in the transaction of the batch that enters the block)."""
    folds = {stype: (tables[table], apply) for stype, (table, apply) in PROJECTIONS.items()}
    loads = _loads
    event = Event("")
    sql = "SELECT seq, stream_id, stream_type, version, type, time, payload FROM events WHERE seq > ?"
    if seqs:  # read in the table's order: sorting the rows themselves (payloads) costs more
        sql = ("SELECT e.seq, e.stream_id, e.stream_type, e.version, e.type, e.time, e.payload"
               f" FROM {seqs} AS f CROSS JOIN events AS e ON e.seq = f.seq WHERE f.seq > ?")
    params: tuple[int, ...] = (after_seq,)
    if upto_seq is not None:
        sql, params = sql + (" AND f.seq <= ?" if seqs else " AND seq <= ?"), (after_seq, upto_seq)
    cursor = conn.execute(sql + (" ORDER BY f.seq" if seqs else " ORDER BY seq"), params)
    block = after_seq // every if every else 0
    pending = iter(stops or ())
    stop = next(pending, None)
    for seq, sid, stype, version, etype, time, payload in cursor:
        while stop is not None and seq > stop and on_stop is not None:
            on_stop(stop, tables)
            stop = next(pending, None)
        fold = folds.get(stype)
        if fold is not None:  # streams without a projection (the system stream) are history only
            rows, apply = fold
            event.stream_id, event.stream_type, event.version, event.type, event.time = (
                sid, stype, version, etype, time)
            event.payload = {} if etype in _PAYLOAD_UNUSED else loads(payload)
            new = apply(rows.get(sid), event)
            if new is None:
                rows.pop(sid, None)
            else:
                rows[sid] = new
        if every and seq // every != block:
            block = seq // every
            if on_boundary is not None:
                on_boundary(seq, time, tables)
    while stop is not None and on_stop is not None and (upto_seq is None or stop <= upto_seq):
        on_stop(stop, tables)
        stop = next(pending, None)
    return tables


def encoded(tables: Tables) -> Tables:
    """The rows as they would be stored (a fold keeps some JSON columns decoded)."""
    return {table: {key: encode_row(dict(row)) for key, row in rows.items()} for table, rows in tables.items()}


def fold_log(conn: sqlite3.Connection) -> Tables:
    """{table: {id: row}} as the log says it should be."""
    return encoded(fold_range(conn, empty_tables()))


def stored_projections(conn: sqlite3.Connection) -> Tables:
    out: Tables = {}
    for table, _ in PROJECTIONS.values():
        cursor = conn.execute(f"SELECT * FROM main.{table}")
        names = [d[0] for d in cursor.description]
        out[table] = {row[0]: dict(zip(names, row, strict=True)) for row in cursor}
    return out


def compare(expected: Tables, actual: Tables, label: str = "") -> list[str]:
    """Human-readable differences between what the log says and what is stored."""
    lines: list[str] = []
    for table in expected:
        want, have = expected[table], actual.get(table, {})
        where = f"{label}{table}"
        for key in sorted(want.keys() - have.keys()):
            lines.append(f"{where} {key}: missing from the projection")
        for key in sorted(have.keys() - want.keys()):
            lines.append(f"{where} {key}: in the projection but not in the log")
        for key in sorted(want.keys() & have.keys()):
            if want[key] == have[key]:  # most rows: one comparison in C
                continue
            for column in sorted(want[key].keys() | have[key].keys()):
                a, b = want[key].get(column), have[key].get(column)
                if isinstance(a, dict):  # kept decoded by the fold
                    a = json.dumps(a, sort_keys=True)
                if a != b:
                    lines.append(f"{where} {key} {column}: log says {a!r}, stored {b!r}")
    return lines


def diff(conn: sqlite3.Connection) -> list[str]:
    """Human-readable differences; empty when projections == fold(log)."""
    return compare(fold_log(conn), stored_projections(conn))
