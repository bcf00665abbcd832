"""Appending to and reading the event log.

append() is the only writer. It inserts the events and updates the projections in
one IMMEDIATE transaction; UNIQUE(stream_id, version) turns a lost race into
ConcurrencyError, which the caller answers by reloading and re-checking.

It writes through the stdlib connection, not sqlite-utils: importing sqlite-utils
(click, pluggy, dateutil) costs 35-90 ms, more than the rest of an `rm`. The SQL is
what sqlite-utils' insert and upsert(pk="id") run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from mydocker.store.projections import PROJECTIONS, encode_row

# One snapshot of the projections per this many sequence numbers (store/snapshots.py
# says why); here so that append, which takes them, does not import snapshots for nothing.
SNAPSHOT_EVERY = 5_000


class ConcurrencyError(Exception):
    """Another writer appended to this stream first."""


class NameConflict(Exception):
    """A projection's unique name is taken (container name in use)."""


class Event:
    # A plain class with a dataclass's __init__, repr and equality: every command
    # imports this module, and dataclasses (inspect, dis, ast) costs it ~10 ms.
    _FIELDS = ("type", "payload", "actor", "stream_id", "stream_type", "version", "time", "seq")
    # slots: replay sets and reads these once per folded event (hundreds of thousands)
    __slots__ = _FIELDS

    def __init__(self, type: str, payload: dict[str, Any] | None = None, actor: dict[str, Any] | None = None,
                 stream_id: str = "", stream_type: str = "", version: int = 0, time: str = "", seq: int = 0) -> None:
        self.type = type
        self.payload = {} if payload is None else payload
        self.actor = {} if actor is None else actor
        self.stream_id = stream_id
        self.stream_type = stream_type
        self.version = version
        self.time = time
        self.seq = seq

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __repr__(self) -> str:
        return "Event(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS) + ")"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append(
    conn: sqlite3.Connection,
    stream_type: str,
    stream_id: str,
    expected_version: int,
    events: list[Event],
    in_transaction: bool = False,
) -> list[Event]:
    """Append events after expected_version; returns them stamped with version/time.
    in_transaction: the caller's open transaction commits them (or rolls them back)."""
    # streams without a projection (the system stream) are history only
    table, apply = PROJECTIONS.get(stream_type, ("", None))
    if not in_transaction:
        conn.execute("BEGIN IMMEDIATE")
    try:
        if stream_version(conn, stream_id) != expected_version:
            raise ConcurrencyError(f"{stream_type} {stream_id} is not at version {expected_version}")
        current = _load_row(conn, table, stream_id) if apply else None
        version = expected_version
        for event in events:
            version += 1
            event.stream_type, event.stream_id, event.version = stream_type, stream_id, version
            event.time = event.time or now_iso()
            event.seq = conn.execute(
                "INSERT INTO events (stream_id, stream_type, version, type, time, actor, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (stream_id, stream_type, version, event.type, event.time,
                 json.dumps(event.actor, sort_keys=True), json.dumps(event.payload, sort_keys=True)),
            ).lastrowid or 0
            if apply:
                current = apply(current, event)
        if apply:
            _store_row(conn, table, stream_id, encode_row(current) if current else None)
        if events and crosses_snapshot_boundary(events[0].seq, events[-1].seq):
            from mydocker.store import snapshots

            snapshots.take_from_projections(conn, events[-1].seq, events[-1].time)
        if not in_transaction:
            conn.execute("COMMIT")
    except sqlite3.IntegrityError as exc:
        if conn.in_transaction and not in_transaction:
            conn.execute("ROLLBACK")
        message = str(exc)
        if "events.stream_id" in message:
            raise ConcurrencyError(f"{stream_type} {stream_id} changed underneath us") from exc
        if ".name" in message:
            raise NameConflict(message) from exc
        raise
    except BaseException:
        if conn.in_transaction and not in_transaction:
            conn.execute("ROLLBACK")
        raise
    return events


def crosses_snapshot_boundary(first_seq: int, last_seq: int, every: int = 0) -> bool:
    """Did the batch first_seq..last_seq start a new block of `every` sequence numbers?"""
    every = every or SNAPSHOT_EVERY
    return (first_seq - 1) // every != last_seq // every


def _load_row(conn: sqlite3.Connection, table: str, key: str) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (key,)).fetchone()
    return dict(row) if row else None


def _store_row(conn: sqlite3.Connection, table: str, key: str, row: dict[str, Any] | None) -> None:
    if row is None:
        conn.execute(f"DELETE FROM {table} WHERE id = ?", (key,))
        return
    columns = list(row)
    # an upsert, not INSERT OR REPLACE: replacing would delete the row first
    updates = ", ".join(f"[{c}] = excluded.[{c}]" for c in columns if c != "id")
    conn.execute(
        f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) VALUES ({', '.join('?' * len(columns))})"
        f" ON CONFLICT([id]) DO UPDATE SET {updates}",
        [_sql_value(row[c]) for c in columns],
    )


def _sql_value(value: Any) -> Any:
    """JSON for structured values, as sqlite-utils stores them."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=repr, ensure_ascii=False)
    return value


def stream_version(conn: sqlite3.Connection, stream_id: str) -> int:
    row = conn.execute("SELECT MAX(version) FROM events WHERE stream_id = ?", (stream_id,)).fetchone()
    return row[0] or 0


def read_all(conn: sqlite3.Connection, after_seq: int = 0) -> Iterator[Event]:
    cursor = conn.execute(
        "SELECT seq, stream_id, stream_type, version, type, time, actor, payload"
        " FROM events WHERE seq > ? ORDER BY seq",
        (after_seq,),
    )
    for seq, sid, stype, version, etype, time, actor, payload in cursor:
        yield Event(
            type=etype,
            payload=json.loads(payload),
            actor=json.loads(actor),
            stream_id=sid,
            stream_type=stype,
            version=version,
            time=time,
            seq=seq,
        )


def read_stream(conn: sqlite3.Connection, stream_id: str) -> list[Event]:
    rows = conn.execute(
        "SELECT seq, stream_type, version, type, time, actor, payload FROM events"
        " WHERE stream_id = ? ORDER BY version",
        (stream_id,),
    ).fetchall()
    return [
        Event(type=r[3], payload=json.loads(r[6]), actor=json.loads(r[5]), stream_id=stream_id,
              stream_type=r[1], version=r[2], time=r[4], seq=r[0])
        for r in rows
    ]
