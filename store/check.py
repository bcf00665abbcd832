"""`replay --check`: the stored projections and every snapshot against the log.

What a check proves. `--full`: that the fold of the whole log (store/projections.py's,
the one fold) equals every snapshot when it reaches the snapshot's seq, and the stored
projections at the end. The default proves the same in two parts:

1. Every event up to the last snapshot already proven (its text columns byte for byte,
   seq and version through sums) and every snapshot up to that one are what was folded
   when it was proven, and the fold's code is the same: a SHA-256 chain over them
   (store/chain.py), recomputed now over the whole log and compared with the chain stored
   in `snapshots`. A previous check stores it for every snapshot it verified; the append
   that takes a snapshot proves and links it as it goes (snapshots.vouch: the fold of its
   block from the snapshot before), and so does backfill from a proven start. With
   nothing to trust, a child hashes the log while the fold runs.
2. The fold from that snapshot over the rest of the log equals every later snapshot and
   the stored projections.

Where the chain breaks (an event or a snapshot changed, or deleted, since it was
verified), the fold starts from the last snapshot before the break; if that fold sees no
difference the break itself is reported. A clean check stores the chain (if it can
write): the next check folds only what came after. A check with no current chain (a log
written by an earlier version of the fold: the first check after an upgrade) is a full one.

The fold itself: one pass over the log from the starting snapshot, comparing with each
later snapshot when the fold reaches its seq, then, at the end, with the projection
tables. SQL picks the streams that can matter, so that Python touches as few rows as it
can, from each stream's first and last event: the table `stream_spans` that triggers on
events keep in the transaction of every write (migration 0009), as SQLite keeps an index,
so that no check pays a GROUP BY over the whole log. `--full` trusts that table no more
than the chain: it derives the spans from the log again, names every stream whose kept
span differs, and folds by the derived ones.

A stream whose last event ends it (projections.ENDING) folds to no row, so its events
matter only if the stream was alive at some snapshot's seq. A month of a busy host is
mostly such short lives, so a full check folds a fraction of the log, and still
sees every event that any projection or snapshot depends on: an edited event of a
skipped stream is one no fold could notice (an edit that changes where a stream ends
makes it folded again); the chain sees those too.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from datetime import UTC, datetime

from mydocker.store import chain
from mydocker.store.projections import ENDING, PROJECTIONS
from mydocker.store.replay import Tables, compare, empty_tables, fold_range, stored_projections
from mydocker.store.snapshots import decode

KEEP = "temp._check_streams"
STOPS = "temp._check_stops"
SEQS = "temp._check_seqs"
START = "temp._check_start"
SPANS = "temp._check_spans"
_TEMP = (KEEP, STOPS, SEQS, START, SPANS)


def _spans(conn: sqlite3.Connection, derive: bool) -> tuple[str, list[str]]:
    """Where each stream's first and last event are: the table the triggers on events keep
    (migration 0009). With `derive`, that table is first compared with a GROUP BY over the
    whole log (the lines name the streams where they differ, and the fold then reads the
    derived spans, SPANS); a log not yet migrated has only those."""
    kept = conn.execute("SELECT 1 FROM main.sqlite_master WHERE name = 'stream_spans'").fetchone() is not None
    if kept and not derive:
        return "main.stream_spans", []
    wrong: list[str] = []
    if kept and _kept_spans_hold(conn):
        return "main.stream_spans", []
    if kept:
        # which streams: the derived span of each against the kept one, and its last event's type
        groups, missing, bad = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE k.stream_id IS NULL),"
            "   json_group_array(d.stream_id) FILTER (WHERE k.stream_id IS NULL OR k.first_seq IS NOT d.first"
            "   OR k.last_seq IS NOT d.last OR e.type IS NOT k.last_type OR e.stream_type IS NOT k.stream_type)"
            " FROM (SELECT stream_id, MIN(seq) AS first, MAX(seq) AS last FROM main.events GROUP BY stream_id) AS d"
            " LEFT JOIN main.stream_spans AS k ON k.stream_id = d.stream_id"
            " LEFT JOIN main.events AS e ON e.seq = k.last_seq").fetchone()
        wrong = json.loads(bad)
        if conn.execute("SELECT count(*) FROM main.stream_spans").fetchone()[0] != groups - missing:
            wrong += [sid for (sid,) in conn.execute(  # kept spans of streams the log does not have
                "SELECT stream_id FROM main.stream_spans AS k"
                " WHERE NOT EXISTS (SELECT 1 FROM main.events WHERE stream_id = k.stream_id)")]
        if not wrong:
            return "main.stream_spans", []
    conn.execute(f"CREATE TABLE {SPANS} (stream_id TEXT PRIMARY KEY, stream_type TEXT NOT NULL,"
                 " first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, last_type TEXT NOT NULL)")
    conn.execute(f"INSERT INTO {SPANS} SELECT s.stream_id, e.stream_type, s.first, s.last, e.type"
                 " FROM (SELECT stream_id, MIN(seq) AS first, MAX(seq) AS last FROM main.events GROUP BY stream_id)"
                 " AS s JOIN main.events AS e ON e.seq = s.last")
    return SPANS, [f"stream_spans {sid}: not the first and last event the log has for it" for sid in sorted(wrong)]


def _kept_spans_hold(conn: sqlite3.Connection) -> bool:
    """Is stream_spans what a GROUP BY over the log says? By count and sums of the first and
    last seqs (as the chain's blocks are for seq and version), and the last event's stream
    and type looked up for each kept span: one pass over each side."""
    derived = conn.execute("SELECT count(*), total(first), total(last) FROM (SELECT MIN(seq) AS first,"
                           " MAX(seq) AS last FROM main.events GROUP BY stream_id)").fetchone()
    kept = conn.execute(
        "SELECT count(*), total(k.first_seq), total(k.last_seq), total(e.type IS NOT k.last_type"
        "   OR e.stream_type IS NOT k.stream_type OR e.stream_id IS NOT k.stream_id)"
        " FROM main.stream_spans AS k LEFT JOIN main.events AS e ON e.seq = k.last_seq").fetchone()
    return tuple(derived) == tuple(kept[:3]) and kept[3] == 0


def _streams_that_show(conn: sqlite3.Connection, start: int, spans: str) -> None:
    """Fill KEEP: (stream, type, the last seq of it worth folding, ended) for every
    stream with events after `start` that is alive at the end of the log or at one of
    the snapshots' seqs (STOPS, all after start): a stream that ends is folded only up to
    the last snapshot that shows it (alive in a snapshot taken at s if first <= s < last,
    or if it was alive at start (START) and s < last). One alive at start that no later
    snapshot shows gets upto = start: nothing to fold, dropped where the fold begins.
    A stream's first event may come before start: it is then alive at start (START), or
    it ended before and came back (an image deleted and pulled again), and folding its
    events after start from no row is its fold: keeping it is only more work."""
    endings = ", ".join("(?, ?)" for _ in ENDING)
    conn.execute(f"CREATE TABLE {KEEP} (id TEXT PRIMARY KEY, type TEXT NOT NULL, upto INTEGER NOT NULL,"
                 " ended INTEGER NOT NULL)")
    conn.execute(
        f"WITH endings (stype, etype) AS (VALUES {endings}),"
        " lasts AS (SELECT s.stream_id, s.stream_type, s.first_seq AS first, s.last_seq AS last,"
        "   EXISTS (SELECT 1 FROM endings n WHERE n.stype = s.stream_type AND n.etype = s.last_type) AS ended,"
        f"  s.stream_id IN {START} AS was_alive,"
        f"  (SELECT MAX(p.seq) FROM {STOPS} AS p WHERE p.seq < s.last_seq) AS shown"
        # from the first event on, every span: a scan, not the index's lookups one by one
        f"   FROM {spans} AS s WHERE {'+' if start == 0 else ''}s.last_seq > ?)"
        f" INSERT INTO {KEEP} SELECT stream_id, stream_type, CASE WHEN ended THEN COALESCE(shown, ?) ELSE last END,"
        " ended FROM lasts WHERE NOT ended OR was_alive OR shown >= first",
        [*(value for pair in ENDING.items() for value in pair), start, start])


def _fold_check(conn: sqlite3.Connection, start: int, tables: Tables, stops: list[int],
                blobs: dict[int, bytes], derive: bool = False) -> list[str]:
    """The differences between the fold from `tables` (the state at seq `start`) over
    the later events and the snapshots at `stops`, then the stored projections.
    derive: the streams' spans from the log itself, not the table kept with it."""
    spans, lines = _spans(conn, derive)
    conn.execute(f"CREATE TABLE {STOPS} (seq INTEGER PRIMARY KEY)")
    conn.executemany(f"INSERT INTO {STOPS} VALUES (?)", ((seq,) for seq in stops))
    conn.execute(f"CREATE TABLE {START} (id TEXT PRIMARY KEY)")
    conn.executemany(f"INSERT OR IGNORE INTO {START} VALUES (?)", ((sid,) for rows in tables.values() for sid in rows))
    _streams_that_show(conn, start, spans)
    conn.execute(f"CREATE TABLE {SEQS} (seq INTEGER PRIMARY KEY)")
    conn.execute(f"INSERT INTO {SEQS} SELECT e.seq FROM {KEEP} AS k"
                 " CROSS JOIN main.events AS e ON e.stream_id = k.id AND e.seq > ? AND e.seq <= k.upto", (start,))
    # where the fold of an ended stream stops, its ending would have dropped its row
    endings = [(upto, sid, PROJECTIONS[stype][0]) for sid, stype, upto in conn.execute(
        f"SELECT id, type, upto FROM {KEEP} WHERE ended ORDER BY upto, id")]
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
            stored = decode(blobs[seq])
        except (zlib.error, ValueError) as exc:
            lines.append(f"snapshot {seq}: unreadable ({exc})")
            return
        lines.extend(compare(tables, stored, f"snapshot {seq}: "))

    try:
        tables = fold_range(conn, tables, start, seqs=SEQS, stops=stops, on_stop=at_snapshot)
    except (ValueError, KeyError, TypeError) as exc:  # an edited log the fold cannot even apply
        return [*lines, f"the log does not fold: {type(exc).__name__}: {exc}"]
    drop_ended(2**63, tables)
    lines.extend(compare(tables, stored_projections(conn)))
    return lines


def check(conn: sqlite3.Connection, full: bool = False) -> list[str]:
    """Differences between the log and the projections and snapshots (empty: none).
    full: fold the whole log, trusting no stored chain (and store a new one if clean)."""
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")  # one state of the database for the whole check, writers or not
    try:
        for table in _TEMP:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(snapshots)")}
        recorded = "chain, checked_at" if "chain" in columns else "NULL, NULL"  # read-only, not yet migrated
        snaps = conn.execute(f"SELECT seq, time, state, {recorded} FROM snapshots ORDER BY seq").fetchall()
        held = [(seq, time, state) for seq, time, state, _, _ in snaps]
        if full or not snaps or chain.stale(snaps[0][3], chain.version() + ":"):
            # nothing to trust: the fold from the start, while a child hashes the log
            pending = chain.begin(conn, held, all_in_child=True)
            try:
                lines = _fold_check(conn, 0, empty_tables(), [seq for seq, _, _, _, _ in snaps],
                                    {seq: state for seq, _, state, _, _ in snaps}, derive=full)
            finally:
                links = pending()  # (also on the way out of an error: no child left behind)
            if not full and _broken(snaps, links) is not None:
                links = chain.links(conn, held, split=0)  # read again, all of it in this transaction
        else:
            links = chain.links(conn, held)
            if _broken(snaps, links) is not None:
                links = chain.links(conn, held, split=0)
            trusted = 0
            while trusted < len(snaps) and snaps[trusted][3] == links[trusted]:
                trusted += 1
            start, tables = 0, empty_tables()
            if trusted:
                start = snaps[trusted - 1][0]
                tables = decode(snaps[trusted - 1][2])  # the bytes a check decoded and folded before
            lines = _fold_check(conn, start, tables, [seq for seq, _, _, _, _ in snaps[trusted:]],
                                {seq: state for seq, _, state, _, _ in snaps[trusted:]})
        broken = _broken(snaps, links)
        if not lines and broken is not None and not full:
            lines.append(f"snapshot {broken[0]}: the events up to it, or the snapshots, changed since the check "
                         f"of {broken[4]}, in a way no projection or snapshot shows")
        if not lines and own:
            _store_chain(conn, snaps, links)
    finally:
        for table in _TEMP:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        if own and conn.in_transaction:
            conn.execute("COMMIT")
    return lines


def _broken(snaps: list[sqlite3.Row], links: list[str]) -> sqlite3.Row | None:
    """The first snapshot whose stored link, made by this version of the fold, is not
    the link of the database as it is now."""
    return next((s for s, link in zip(snaps, links, strict=True) if not chain.stale(s[3], link) and s[3] != link),
                None)


def _store_chain(conn: sqlite3.Connection, snaps: list[sqlite3.Row], links: list[str]) -> None:
    """Record what this check proved, inside its read transaction: if another writer
    committed since the check began (or the database is read-only), the check stays
    valid and only its record is lost: the next check folds more."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    changed = [(link, now, s[0]) for s, link in zip(snaps, links, strict=True) if s[3] != link]
    if not changed or getattr(conn, "read_only", False):
        return
    try:
        conn.executemany("UPDATE snapshots SET chain = ?, checked_at = ? WHERE seq = ?", changed)
    except sqlite3.OperationalError:  # busy, stale or read-only
        conn.execute("ROLLBACK")
