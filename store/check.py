"""`replay --check`: the stored projections and every snapshot against the log.

One pass over the log, through the one fold: compare with each snapshot when the fold
reaches its seq, then, at the end, with the projection tables.

It folds only the streams that can show: a stream whose last event ends it
(projections.ENDING) folds to no row, so its events matter only if the stream was
alive at some snapshot's seq. A month of a busy host is mostly such short lives, so
the check reads a fraction of the log, and still sees every event that any
projection or snapshot depends on: an edited event of a skipped stream is one no fold
could notice (an edit that changes where a stream ends makes it folded again).
"""

from __future__ import annotations

import bisect
import sqlite3
import zlib

from mydocker.store.projections import ENDING, PROJECTIONS
from mydocker.store.replay import Tables, compare, empty_tables, fold_range, stored_projections
from mydocker.store.snapshots import decode

KEEP = "temp._check_streams"


def _streams_that_show(conn: sqlite3.Connection, snapshot_seqs: list[int]) -> list[tuple[str, str, int, bool]]:
    """(stream, type, the last seq of it worth folding, ended) for every stream alive at
    the end of the log or at one of the snapshots' seqs: a stream that ends is folded
    only up to the last snapshot that shows it."""
    keep = []
    for sid, first, last, stype, etype in conn.execute(
            "SELECT s.stream_id, s.first, s.last, e.stream_type, e.type FROM"
            " (SELECT stream_id, MIN(seq) AS first, MAX(seq) AS last FROM main.events GROUP BY stream_id) AS s"
            " JOIN main.events AS e ON e.seq = s.last"):
        if etype != ENDING.get(stype):
            keep.append((sid, stype, last, False))
            continue
        # alive in a snapshot taken at seq s if first <= s < last
        i = bisect.bisect_left(snapshot_seqs, last) - 1
        if i >= 0 and snapshot_seqs[i] >= first:
            keep.append((sid, stype, snapshot_seqs[i], True))
    return keep


def check(conn: sqlite3.Connection) -> list[str]:
    lines: list[str] = []
    snaps = [seq for (seq,) in conn.execute("SELECT seq FROM snapshots ORDER BY seq")]
    streams = _streams_that_show(conn, snaps)
    # where the fold of an ended stream stops, its ending would have dropped its row
    endings = sorted((upto, sid, PROJECTIONS[stype][0]) for sid, stype, upto, ended in streams if ended)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {KEEP} (id TEXT PRIMARY KEY, upto INTEGER NOT NULL)")
    conn.execute(f"DELETE FROM {KEEP}")
    conn.executemany(f"INSERT INTO {KEEP} VALUES (?, ?)", ((sid, upto) for sid, _, upto, _ in streams))
    blobs = dict(conn.execute("SELECT seq, state FROM snapshots"))
    ended = 0

    def drop_ended(seq: int, tables: Tables) -> None:
        nonlocal ended
        while ended < len(endings) and endings[ended][0] < seq:
            _, sid, table = endings[ended]
            tables[table].pop(sid, None)
            ended += 1

    def at_snapshot(seq: int, tables: Tables) -> None:
        drop_ended(seq, tables)
        try:
            stored = decode(blobs.pop(seq))
        except (zlib.error, ValueError) as exc:
            lines.append(f"snapshot {seq}: unreadable ({exc})")
            return
        lines.extend(compare(tables, stored, f"snapshot {seq}: "))

    try:
        tables = fold_range(conn, empty_tables(), streams=KEEP, stops=snaps, on_stop=at_snapshot)
        drop_ended(2**63, tables)
        lines.extend(compare(tables, stored_projections(conn)))
    finally:
        conn.execute(f"DROP TABLE {KEEP}")
    return lines
