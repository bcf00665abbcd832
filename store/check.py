"""`replay --check`: the stored projections and every snapshot against the log.

One pass over the log, through the one fold: compare with each snapshot when the fold
reaches its seq, then, at the end, with the projection tables.

SQL picks the streams that can matter, so that Python touches as few rows as it can;
the fold itself is store/projections.py's, as everywhere else. A stream whose last
event ends it (projections.ENDING) folds to no row, so its events matter only if the
stream was alive at some snapshot's seq. A month of a busy host is mostly such short
lives, so the check folds a fraction of the log, and still sees every event that any
projection or snapshot depends on: an edited event of a skipped stream is one no fold
could notice (an edit that changes where a stream ends makes it folded again).
"""

from __future__ import annotations

import sqlite3
import zlib

from mydocker.store.projections import ENDING, PROJECTIONS
from mydocker.store.replay import Tables, compare, empty_tables, fold_range, stored_projections
from mydocker.store.snapshots import decode

KEEP = "temp._check_streams"
STOPS = "temp._check_stops"
SEQS = "temp._check_seqs"


def _streams_that_show(conn: sqlite3.Connection) -> None:
    """Fill KEEP: (stream, type, the last seq of it worth folding, ended) for every
    stream alive at the end of the log or at one of the snapshots' seqs (STOPS): a
    stream that ends is folded only up to the last snapshot that shows it (alive in a
    snapshot taken at s if first <= s < last)."""
    endings = ", ".join("(?, ?)" for _ in ENDING)
    conn.execute(f"CREATE TABLE {KEEP} (id TEXT PRIMARY KEY, type TEXT NOT NULL, upto INTEGER NOT NULL,"
                 " ended INTEGER NOT NULL)")
    conn.execute(
        f"WITH endings (stype, etype) AS (VALUES {endings}),"
        " spans AS (SELECT stream_id, MIN(seq) AS first, MAX(seq) AS last FROM main.events GROUP BY stream_id),"
        " lasts AS (SELECT s.stream_id, e.stream_type, s.first, s.last,"
        "   EXISTS (SELECT 1 FROM endings n WHERE n.stype = e.stream_type AND n.etype = e.type) AS ended,"
        f"  (SELECT MAX(p.seq) FROM {STOPS} AS p WHERE p.seq < s.last) AS shown"
        "   FROM spans AS s JOIN main.events AS e ON e.seq = s.last)"
        f" INSERT INTO {KEEP} SELECT stream_id, stream_type, CASE WHEN ended THEN shown ELSE last END, ended"
        " FROM lasts WHERE NOT ended OR shown >= first",
        [value for pair in ENDING.items() for value in pair])


def check(conn: sqlite3.Connection) -> list[str]:
    lines: list[str] = []
    snaps = [seq for (seq,) in conn.execute("SELECT seq FROM snapshots ORDER BY seq")]
    for table in (KEEP, STOPS, SEQS):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {STOPS} (seq INTEGER PRIMARY KEY)")
    conn.executemany(f"INSERT INTO {STOPS} VALUES (?)", ((seq,) for seq in snaps))
    try:
        _streams_that_show(conn)
        conn.execute(f"CREATE TABLE {SEQS} (seq INTEGER PRIMARY KEY)")
        conn.execute(f"INSERT INTO {SEQS} SELECT e.seq FROM {KEEP} AS k"
                     " CROSS JOIN main.events AS e ON e.stream_id = k.id AND e.seq <= k.upto")
        # where the fold of an ended stream stops, its ending would have dropped its row
        endings = [(upto, sid, PROJECTIONS[stype][0]) for sid, stype, upto in conn.execute(
            f"SELECT id, type, upto FROM {KEEP} WHERE ended ORDER BY upto, id")]
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
            tables = fold_range(conn, empty_tables(), seqs=SEQS, stops=snaps, on_stop=at_snapshot)
        except (ValueError, KeyError, TypeError) as exc:  # an edited log the fold cannot even apply
            return [*lines, f"the log does not fold: {type(exc).__name__}: {exc}"]
        drop_ended(2**63, tables)
        lines.extend(compare(tables, stored_projections(conn)))
    finally:
        for table in (KEEP, STOPS, SEQS):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    return lines
