"""`system compact`: fold the events of long-removed containers into one summary row each.

Only on request: by default nothing is ever deleted. A container whose last event is
its `destroy`, stamped before the given time, has its whole stream replaced by a row
of `compacted_containers` holding what the container_lifetimes view said of it (the
view keeps showing it, from that row), where its events were and how many of each type.
The projections do not change (a removed container folds to no row), so `replay
--check` still holds; snapshots, which may show those containers alive, are taken
again from the compacted log. One transaction, recorded by a `compact` event on the
`system` stream.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from mydocker.store.events import Event, append, stream_version

SYSTEM_STREAM = "system"
_PICKED = "temp._compact_streams"


@dataclass
class Compaction:
    containers: int
    events: int
    snapshots: int = 0


def removed_before(conn: sqlite3.Connection, before: str) -> list[str]:
    """Containers removed before `before` whose events are still in the log."""
    return [sid for (sid,) in conn.execute(
        "SELECT e.stream_id FROM events e WHERE e.stream_type = 'container' AND e.type = 'destroy'"
        " AND e.time < ? AND NOT EXISTS"
        " (SELECT 1 FROM events x WHERE x.stream_id = e.stream_id AND x.version > e.version) ORDER BY e.seq",
        (before,))]


def compact(conn: sqlite3.Connection, before: str, actor: dict[str, Any]) -> Compaction:
    from mydocker.store import snapshots

    conn.execute("BEGIN IMMEDIATE")
    try:
        picked = removed_before(conn, before)
        if not picked:
            conn.execute("ROLLBACK")
            return Compaction(0, 0)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {_PICKED} (id TEXT PRIMARY KEY)")
        conn.execute(f"DELETE FROM {_PICKED}")
        conn.executemany(f"INSERT INTO {_PICKED} VALUES (?)", ((sid,) for sid in picked))
        count = _summarize(conn)
        _delete_streams(conn)
        conn.execute("DELETE FROM snapshots")  # some showed these containers alive
        system = SYSTEM_STREAM
        append(conn, system, system, stream_version(conn, system), [Event(
            "compact", {"before": before, "containers": len(picked), "events": count}, actor)],
            in_transaction=True)
        conn.execute(f"DROP TABLE {_PICKED}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return Compaction(len(picked), count, snapshots.backfill(conn))


def _summarize(conn: sqlite3.Connection) -> int:
    stats = {sid: [first, last, n] for sid, first, last, n in conn.execute(
        f"SELECT stream_id, MIN(seq), MAX(seq), COUNT(*) FROM events WHERE stream_id IN (SELECT id FROM {_PICKED})"
        " GROUP BY stream_id")}
    counts: dict[str, dict[str, int]] = {}
    for sid, etype, n in conn.execute(
            f"SELECT stream_id, type, COUNT(*) FROM events WHERE stream_id IN (SELECT id FROM {_PICKED})"
            " GROUP BY stream_id, type"):
        counts.setdefault(sid, {})[etype] = n
    last_name: dict[str, str] = {}
    for sid, name in conn.execute(
            f"SELECT stream_id, json_extract(payload, '$.name') FROM events WHERE stream_id IN"
            f" (SELECT id FROM {_PICKED}) AND type IN ('create', 'rename') ORDER BY seq"):
        last_name[sid] = name
    cursor = conn.execute(f"SELECT * FROM container_lifetimes WHERE container_id IN (SELECT id FROM {_PICKED})")
    columns = [d[0] for d in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(columns, values, strict=True))
        sid = row["container_id"]
        first, last, n = stats[sid]
        rows.append({**row, "first_seq": first, "last_seq": last, "events": n,
                     "event_counts": json.dumps(counts[sid], sort_keys=True), "last_name": last_name.get(sid)})
    if rows:
        names = list(rows[0])
        conn.executemany(f"INSERT OR REPLACE INTO compacted_containers ({', '.join(names)})"
                         f" VALUES ({', '.join('?' * len(names))})", [[r[c] for c in names] for r in rows])
    return sum(n for _, _, n in stats.values())


def _delete_streams(conn: sqlite3.Connection) -> None:
    """The one place events are deleted: past the append-only trigger, put back at once
    (the same transaction: nobody ever sees the log without it)."""
    (trigger,) = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'"
                              " AND name = 'events_are_append_only_delete'").fetchone()
    conn.execute("DROP TRIGGER events_are_append_only_delete")
    conn.execute(f"DELETE FROM events WHERE stream_id IN (SELECT id FROM {_PICKED})")
    conn.execute(trigger)
