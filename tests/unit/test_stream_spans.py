"""stream_spans (migration 0009): each stream's first and last event, kept by triggers on
events, so that `replay --check` chooses the streams to fold without a GROUP BY over the
whole log. The table must be what the log says after every kind of write, old logs get
it when they migrate, and `--full` (which derives the spans again) names a wrong one."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from mydocker.store import compaction
from mydocker.store import events as store_events
from mydocker.store.check import check
from mydocker.store.migrate import apply_migrations, migration_files

from tests.unit.test_snapshots import EVERY, Log, copy_of, stamp, write_history

DERIVED = ("SELECT s.stream_id, e.stream_type, s.first, s.last, e.type FROM (SELECT stream_id, MIN(seq) AS first,"
           " MAX(seq) AS last FROM events GROUP BY stream_id) AS s JOIN events AS e ON e.seq = s.last ORDER BY 1")
KEPT = "SELECT stream_id, stream_type, first_seq, last_seq, last_type FROM stream_spans ORDER BY 1"


def spans(conn: sqlite3.Connection, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in conn.execute(sql)]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    saved = store_events.SNAPSHOT_EVERY
    store_events.SNAPSHOT_EVERY = EVERY
    try:
        log = Log(tmp_path_factory.mktemp("spans") / "root")
        write_history(log, random.Random(5))
        assert check(log.conn) == []
        return log
    finally:
        store_events.SNAPSHOT_EVERY = saved


def test_appends_keep_every_stream_s_span(log: Log) -> None:
    kept = spans(log.conn, KEPT)
    assert kept == spans(log.conn, DERIVED)
    types = {row[1] for row in kept}
    assert {"container", "network", "image"} <= types
    assert any(row[4] == "destroy" for row in kept) and any(row[4] != "destroy" for row in kept)


def test_compaction_and_hand_edits_keep_them_too(log: Log, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_events, "SNAPSHOT_EVERY", EVERY)
    conn = copy_of(log, tmp_path)
    done = compaction.compact(conn, stamp(log.clock // 2), {"command": "system compact"})
    assert done.containers >= 3
    assert spans(conn, KEPT) == spans(conn, DERIVED)
    conn.execute("DROP TRIGGER events_are_append_only_update")
    conn.execute("DROP TRIGGER events_are_append_only_delete")
    last = conn.execute("SELECT MAX(seq) FROM events WHERE stream_type = 'container'").fetchone()[0]
    conn.execute("UPDATE events SET type = 'destroy' WHERE seq = ?", (last,))
    moved = conn.execute("SELECT seq FROM events WHERE stream_type = 'container' ORDER BY seq LIMIT 1").fetchone()[0]
    conn.execute("UPDATE events SET stream_id = 'elsewhere' WHERE seq = ?", (moved,))
    conn.execute("DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events WHERE stream_type = 'network')")
    assert spans(conn, KEPT) == spans(conn, DERIVED)
    conn.close()


def test_a_log_written_before_the_table_gets_it_when_it_migrates(tmp_path: Path) -> None:
    files = migration_files()
    number = next(i for i, path in enumerate(files) if path.name.endswith("_stream_spans.sql"))
    conn = sqlite3.connect(tmp_path / "mydocker.db", isolation_level=None)
    conn.row_factory = sqlite3.Row
    apply_migrations(conn, files[:number])
    for n in range(5):
        cid = f"{n:064x}"
        store_events.append(conn, "container", cid, 0, [store_events.Event("create", {
            "name": f"c{n}", "image": "busybox", "image_id": "x", "command": [], "config": {}})])
        if n % 2:
            store_events.append(conn, "container", cid, 1, [store_events.Event("destroy", {})])
    assert apply_migrations(conn, files) == [files[number].name, *(p.name for p in files[number + 1:])]
    kept = spans(conn, KEPT)
    assert kept == spans(conn, DERIVED) and len(kept) == 5
    conn.close()


def test_a_wrong_span_fails_a_check_and_full_names_it(log: Log, tmp_path: Path) -> None:
    conn = copy_of(log, tmp_path)
    cid = conn.execute("SELECT id FROM containers ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    conn.execute("UPDATE stream_spans SET last_type = 'destroy' WHERE stream_id = ?", (cid,))
    conn.execute("UPDATE snapshots SET chain = NULL")
    first = check(conn)  # trusts the table: the container's row no longer folds
    assert any(cid in line for line in first), first
    full = check(conn, full=True)  # derives the spans from the log: the fold is right, the table is not
    assert full == [f"stream_spans {cid}: not the first and last event the log has for it"]
    conn.close()


def test_full_names_a_kept_span_of_a_stream_the_log_does_not_have(log: Log, tmp_path: Path) -> None:
    conn = copy_of(log, tmp_path)
    conn.execute("INSERT INTO stream_spans VALUES ('ghost', 'container', 1, 2, 'create')")
    assert check(conn, full=True) == ["stream_spans ghost: not the first and last event the log has for it"]
    conn.close()


def test_full_names_a_kept_span_that_starts_elsewhere(log: Log, tmp_path: Path) -> None:
    conn = copy_of(log, tmp_path)
    sid = conn.execute("SELECT stream_id FROM stream_spans WHERE last_type = 'destroy' LIMIT 1").fetchone()[0]
    conn.execute("UPDATE stream_spans SET first_seq = first_seq + 1 WHERE stream_id = ?", (sid,))
    assert check(conn, full=True) == [f"stream_spans {sid}: not the first and last event the log has for it"]
    conn.close()
