"""Snapshots of the projections, and the state of the host as of any instant.

A snapshot is the fold of every event up to its `seq` ({table: {id: row}}, JSON,
zlib level 1), one per SNAPSHOT_EVERY sequence numbers. append() takes one in the
transaction of the batch that crosses a block boundary, by copying the stored
projections (which that same transaction just brought to that seq); a log written
before snapshots existed, or rewritten by `system compact`, gets its missing ones by
backfill(), which folds from the latest snapshot onwards. `--at` loads the nearest
snapshot at or before the instant and folds the tail through the same apply
functions as everything else; `replay --check` checks every snapshot against the log.

Why 5,000: `--at` folds at most one block after loading a snapshot. With a hundred
live containers a snapshot is ~17 kB compressed, ~1 ms to take and a few ms to load,
and a block of a busy host's events folds in ~25 ms here (measured, bench/audit.py:
10,000 made the tail the larger part of 100 ms on a loaded machine). A full
`replay --check` decodes and compares every snapshot (~1 ms each), and the chain of a
later one has a link per snapshot: smaller blocks would make that the larger part of
its second.
"""

from __future__ import annotations

import json
import sqlite3
import zlib

from mydocker.store import chain, events
from mydocker.store.replay import Tables, compare, empty_tables, encoded, fold_range, stored_projections


def encode(tables: Tables) -> bytes:
    return zlib.compress(json.dumps(encoded(tables), sort_keys=True, separators=(",", ":")).encode(), 1)


def decode(blob: bytes) -> Tables:
    tables = empty_tables()
    tables.update(json.loads(zlib.decompress(blob)))
    return tables


def take_from_projections(conn: sqlite3.Connection, seq: int, time: str) -> None:
    """Inside append's transaction: the stored projections are the fold up to seq."""
    vouch(conn, seq, time, save(conn, seq, time, stored_projections(conn)))


def save(conn: sqlite3.Connection, seq: int, time: str, tables: Tables) -> bytes:
    blob = encode(tables)
    conn.execute("INSERT OR REPLACE INTO snapshots (seq, time, state) VALUES (?, ?, ?)", (seq, time, blob))
    return blob


def vouch(conn: sqlite3.Connection, seq: int, time: str, blob: bytes, folded: bool = False) -> bool:
    """Prove of the snapshot just saved at seq what `replay --check` would, while its block
    is fresh, and store its link of the chain (store/chain.py) as a check stores it: the
    fold from the snapshot before it (its own link current, or none before it) over the
    block's events equals this one. A check then trusts the whole log written since its
    last check, instead of folding it: the append that takes a snapshot, one in
    SNAPSHOT_EVERY events, pays one block's fold (bench/audit.py measures it).

    folded: the caller's fold from the snapshot before (current too) made `blob` (backfill).
    Proves nothing and stores nothing (False) where the snapshot before has no current link,
    or a gap of blocks without snapshots lies between them (the check folds those); never
    fails the write."""
    before = conn.execute("SELECT seq, state, chain FROM snapshots WHERE seq < ? ORDER BY seq DESC LIMIT 1",
                          (seq,)).fetchone()
    start = before[0] if before is not None else 0
    if seq - start > 2 * events.SNAPSHOT_EVERY:
        return False
    if before is not None and chain.stale(before[2], chain.version() + ":"):
        return False
    if not folded:
        try:
            tables = fold_range(conn, decode(before[1]) if before is not None else empty_tables(), start, seq)
            if compare(tables, decode(blob)):
                return False  # the projections are not the log's: the check will say where
        except (ValueError, KeyError, TypeError, zlib.error):
            return False
    link = chain.extend(before[2] if before is not None else None, seq, time, blob,
                        chain.block_digest(conn, start, seq))
    if link is None:
        return False
    try:
        conn.execute("UPDATE snapshots SET chain = ?, checked_at = ? WHERE seq = ?", (link, events.now_iso(), seq))
    except sqlite3.OperationalError:  # a full disk: the write goes on unproven, a check proves it later
        return False
    return True


def nearest(conn: sqlite3.Connection, seq: int | None = None) -> tuple[int, Tables]:
    """The latest snapshot at or before seq (all of them when None); (0, empty) if none."""
    if seq is None:
        row = conn.execute("SELECT seq, state FROM snapshots ORDER BY seq DESC LIMIT 1").fetchone()
    else:
        row = conn.execute("SELECT seq, state FROM snapshots WHERE seq <= ? ORDER BY seq DESC LIMIT 1",
                           (seq,)).fetchone()
    if row is None:
        return 0, empty_tables()
    return row[0], decode(row[1])


def seq_at(conn: sqlite3.Connection, at: str) -> int:
    """The last event stamped at or before `at` (log time, ISO UTC): the prefix of the
    log that is the host as of that instant. 0 before the first event."""
    row = conn.execute("SELECT seq FROM events WHERE time <= ? ORDER BY time DESC, seq DESC LIMIT 1",
                       (at,)).fetchone()
    return row[0] if row else 0


def state_at_seq(conn: sqlite3.Connection, seq: int) -> Tables:
    start, tables = nearest(conn, seq)
    return encoded(fold_range(conn, tables, start, seq))


def state_at(conn: sqlite3.Connection, at: str) -> tuple[int, Tables]:
    seq = seq_at(conn, at)
    return seq, state_at_seq(conn, seq) if seq else empty_tables()


def backfill(conn: sqlite3.Connection, every: int = 0) -> int:
    """Take the snapshots the log lacks (written before snapshots existed, or rewritten
    by compaction): fold from the last snapshot before the first block without one to
    the end. Returns how many were taken. One transaction."""
    every = every or events.SNAPSHOT_EVERY
    last = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0] or 0
    have = {seq // every for (seq,) in conn.execute("SELECT seq FROM snapshots")}
    missing = [b for b in range(1, last // every + 1) if b not in have and conn.execute(
        "SELECT 1 FROM events WHERE seq >= ? AND seq < ? LIMIT 1", (b * every, (b + 1) * every)).fetchone()]
    if not missing:
        return 0
    taken = 0

    def on_boundary(seq: int, time: str, state: Tables) -> None:
        nonlocal taken
        if seq // every not in have:
            blob = save(conn, seq, time, state)
            if trusted:  # the fold came from a proven snapshot: this one is its fold too
                vouch(conn, seq, time, blob, folded=True)
            taken += 1

    conn.execute("BEGIN IMMEDIATE")
    try:
        start, tables = nearest(conn, missing[0] * every - 1)
        row = conn.execute("SELECT chain FROM snapshots WHERE seq = ?", (start,)).fetchone()
        trusted = row is None or not chain.stale(row[0], chain.version() + ":")
        fold_range(conn, tables, start, None, every, on_boundary)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return taken


def backfill_if_needed(conn: sqlite3.Connection) -> int:
    """backfill() when some block lacks its snapshot; what a log written before
    snapshots existed pays once, on its first `--at`. Never fails a read."""
    every = events.SNAPSHOT_EVERY
    last = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0] or 0
    have = conn.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]
    if have >= last // every or getattr(conn, "read_only", False):
        return 0
    try:
        return backfill(conn)
    except sqlite3.OperationalError:  # a full disk or a locked database: fold from further back
        return 0
