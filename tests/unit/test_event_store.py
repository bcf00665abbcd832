"""store_events.append: optimistic concurrency, unique names, one transaction for
the event and its projection, an append-only log, private files, WAL."""

from __future__ import annotations

import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mydocker.store.events as store_events
import pytest
from mydocker.store.db import connect, db_path
from mydocker.store.events import ConcurrencyError, Event, NameConflict, append, read_stream, stream_version

from tests.fakes import create_payload, die_payload, start_payload

A = "a" * 64
B = "b" * 64


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "state"  # does not exist yet: connect() must create it


@pytest.fixture
def conn(root: Path) -> Iterator[sqlite3.Connection]:
    c = connect(root)
    yield c
    c.close()


def snapshot(conn: sqlite3.Connection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    events = [tuple(r) for r in conn.execute("SELECT * FROM events ORDER BY seq")]
    containers = [tuple(r) for r in conn.execute("SELECT * FROM containers ORDER BY id")]
    return events, containers


def create(conn: sqlite3.Connection, cid: str, name: str) -> None:
    append(conn, "container", cid, 0, [Event("create", create_payload(name, cid))])


def test_append_stamps_versions_and_updates_the_projection(conn: sqlite3.Connection) -> None:
    create(conn, A, "one")
    out = append(conn, "container", A, 1, [Event("start", start_payload()), Event("die", die_payload(2))])
    assert [(e.version, e.stream_id, e.stream_type) for e in out] == [(2, A, "container"), (3, A, "container")]
    assert all(e.seq > 0 and e.time.endswith("Z") for e in out)
    assert stream_version(conn, A) == 3
    row = conn.execute("SELECT state, version, exit_code FROM containers WHERE id = ?", (A,)).fetchone()
    assert tuple(row) == ("stopped", 3, 2)
    assert [e.type for e in read_stream(conn, A)] == ["create", "start", "die"]


def test_stale_expected_version_raises_and_writes_nothing(conn: sqlite3.Connection) -> None:
    create(conn, A, "one")
    append(conn, "container", A, 1, [Event("start", start_payload())])
    before = snapshot(conn)
    with pytest.raises(ConcurrencyError):
        append(conn, "container", A, 1, [Event("die", die_payload(1))])
    assert snapshot(conn) == before
    assert not conn.in_transaction
    # and a second create of the same stream is a conflict too
    with pytest.raises(ConcurrencyError):
        create(conn, A, "other-name")
    assert snapshot(conn) == before


def test_stale_version_in_the_middle_of_a_batch_rolls_back_the_whole_batch(conn: sqlite3.Connection) -> None:
    create(conn, A, "one")
    before = snapshot(conn)
    # expected 0: the first event collides at version 1
    with pytest.raises(ConcurrencyError):
        append(conn, "container", A, 0, [Event("rename", {"name": "x"}), Event("rename", {"name": "y"})])
    assert snapshot(conn) == before


def test_expected_version_ahead_of_the_stream_is_refused(conn: sqlite3.Connection) -> None:
    create(conn, A, "one")
    before = snapshot(conn)
    with pytest.raises(ConcurrencyError):
        append(conn, "container", A, 5, [Event("start", start_payload())])
    assert snapshot(conn) == before


def test_two_connections_same_version_second_loses(root: Path) -> None:
    first, second = connect(root), connect(root)
    try:
        create(first, A, "one")
        seen_by_both = stream_version(second, A)
        assert seen_by_both == stream_version(first, A) == 1
        append(first, "container", A, seen_by_both, [Event("start", start_payload(100))])
        with pytest.raises(ConcurrencyError):
            append(second, "container", A, seen_by_both, [Event("start", start_payload(200))])
        assert [(e.version, e.payload["pid"]) for e in read_stream(second, A)[1:]] == [(2, 100)]
        assert second.execute("SELECT pid FROM containers WHERE id = ?", (A,)).fetchone()[0] == 100
    finally:
        first.close()
        second.close()


def _race_writer(root: Path, version: int, n: int, barrier: threading.Barrier, outcomes: list[str]) -> None:
    c = connect(root)
    try:
        barrier.wait()
        try:
            append(c, "container", A, version, [Event("rename", {"name": f"r{version}-{n}"})])
            result = "won"
        except ConcurrencyError:
            result = "lost"
        except Exception as exc:  # noqa: BLE001 - anything else is a failure to report
            result = f"error: {exc!r}"
    finally:
        c.close()
    outcomes.append(result)  # list.append is atomic under the GIL


def test_racing_threads_exactly_one_wins(root: Path) -> None:
    setup = connect(root)
    create(setup, A, "one")
    setup.close()
    rounds, writers = 5, 4
    for round_no in range(rounds):
        version = 1 + round_no
        barrier = threading.Barrier(writers)
        outcomes: list[str] = []
        threads = [threading.Thread(target=_race_writer, args=(root, version, n, barrier, outcomes))
                   for n in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes) == ["lost"] * (writers - 1) + ["won"], outcomes
    check = connect(root)
    try:
        assert [e.version for e in read_stream(check, A)] == list(range(1, rounds + 2))
        assert check.execute("SELECT version FROM containers WHERE id = ?", (A,)).fetchone()[0] == rounds + 1
    finally:
        check.close()


def test_container_name_is_unique(conn: sqlite3.Connection) -> None:
    create(conn, A, "taken")
    before = snapshot(conn)
    with pytest.raises(NameConflict):
        create(conn, B, "taken")
    # the event inserted before the projection failed must be gone too
    assert snapshot(conn) == before
    assert stream_version(conn, B) == 0
    assert not conn.in_transaction


def test_rename_to_a_taken_name_changes_nothing(conn: sqlite3.Connection) -> None:
    create(conn, A, "first")
    create(conn, B, "second")
    before = snapshot(conn)
    with pytest.raises(NameConflict):
        append(conn, "container", B, 1, [Event("rename", {"name": "first"})])
    assert snapshot(conn) == before


def test_a_name_is_free_again_after_destroy(conn: sqlite3.Connection) -> None:
    create(conn, A, "reused")
    append(conn, "container", A, 1, [Event("destroy", {})])
    create(conn, B, "reused")
    assert conn.execute("SELECT id FROM containers WHERE name = 'reused'").fetchone()[0] == B
    assert conn.execute("SELECT COUNT(*) FROM containers WHERE id = ?", (A,)).fetchone()[0] == 0


@pytest.mark.parametrize("sql", ["UPDATE events SET type = 'start'", "DELETE FROM events",
                                 "UPDATE events SET payload = '{}' WHERE seq = 1"])
def test_events_are_append_only(conn: sqlite3.Connection, sql: str) -> None:
    create(conn, A, "one")
    before = snapshot(conn)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(sql)
    assert snapshot(conn) == before


def test_projection_failure_rolls_back_the_events(conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """The event insert and the projection write are one transaction."""
    create(conn, A, "one")
    before = snapshot(conn)

    def broken_store(*args: Any) -> None:
        # the event rows are in (inside the transaction) when the projection is written
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == len(before[0]) + 1
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store_events, "_store_row", broken_store)
    with pytest.raises(RuntimeError, match="disk on fire"):
        append(conn, "container", A, 1, [Event("start", start_payload())])
    assert snapshot(conn) == before
    assert not conn.in_transaction


def test_a_fold_error_rolls_back_earlier_events_of_the_batch(conn: sqlite3.Connection) -> None:
    create(conn, A, "one")
    before = snapshot(conn)
    with pytest.raises(KeyError):
        # the start is fine, the die lacks exit_code
        append(conn, "container", A, 1, [Event("start", start_payload()), Event("die", {})])
    assert snapshot(conn) == before


def test_event_for_an_unknown_stream_is_refused(conn: sqlite3.Connection) -> None:
    before = snapshot(conn)
    with pytest.raises(ValueError, match="unknown container"):
        append(conn, "container", A, 0, [Event("start", start_payload())])
    assert snapshot(conn) == before


def test_a_reader_never_sees_an_event_without_its_projection(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer_conn, reader = connect(root), connect(root)
    try:
        create(writer_conn, A, "one")
        seen: list[tuple[int, int]] = []
        real_store = store_events._store_row

        def store_and_peek(*args: Any) -> None:
            # mid-transaction, another connection still sees the old state on both sides
            seen.append((stream_version(reader, A),
                         reader.execute("SELECT version FROM containers WHERE id = ?", (A,)).fetchone()[0]))
            real_store(*args)

        monkeypatch.setattr(store_events, "_store_row", store_and_peek)
        append(writer_conn, "container", A, 1, [Event("start", start_payload())])
        assert seen == [(1, 1)]
        assert (stream_version(reader, A),
                reader.execute("SELECT version FROM containers WHERE id = ?", (A,)).fetchone()[0]) == (2, 2)
    finally:
        writer_conn.close()
        reader.close()


def test_root_is_0700_and_database_0600(root: Path) -> None:
    c = connect(root)
    c.close()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(db_path(root).stat().st_mode) == 0o600


def test_modes_do_not_depend_on_a_permissive_umask(root: Path) -> None:
    import os

    old = os.umask(0)
    try:
        connect(root).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(db_path(root).stat().st_mode) == 0o600


def test_journal_mode_is_wal_and_busy_timeout_set(conn: sqlite3.Connection) -> None:
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_reconnect_keeps_the_data(root: Path) -> None:
    c = connect(root)
    create(c, A, "kept")
    c.close()
    again = connect(root)
    try:
        assert again.execute("SELECT name FROM containers").fetchone()[0] == "kept"
        assert again.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        again.close()
