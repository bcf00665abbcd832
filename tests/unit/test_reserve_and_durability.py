"""The space reserve (store/reserve.py) and how the log is opened (store/db.py)."""

from __future__ import annotations

import sqlite3

import pytest
from mydocker.store import db, reserve


@pytest.fixture
def free(monkeypatch):
    """The filesystem's free bytes, as the test says."""
    state = {"free": 1 << 40}
    monkeypatch.setattr(reserve, "free_bytes", lambda root: state["free"])
    return state


def test_reserve_is_made_when_there_is_room_for_it_twice(tmp_path, free):
    free["free"] = 2 * reserve.RESERVE_BYTES - 1
    assert reserve.ensure(tmp_path) is False and reserve.held(tmp_path) == 0
    free["free"] = 2 * reserve.RESERVE_BYTES
    assert reserve.ensure(tmp_path) is True
    path = reserve.path(tmp_path)
    assert path.stat().st_size == reserve.RESERVE_BYTES
    assert path.stat().st_blocks * 512 >= reserve.RESERVE_BYTES  # really allocated, not sparse


def test_freeing_commands_take_a_slice_only_when_space_is_low(tmp_path, free):
    reserve.ensure(tmp_path)
    free["free"] = reserve.RESERVE_BYTES
    assert reserve.release_if_low(tmp_path) is False
    free["free"] = reserve.RESERVE_BYTES - 1
    assert reserve.release_if_low(tmp_path) is True
    assert reserve.held(tmp_path) == reserve.RESERVE_BYTES - reserve.FREEING_SLICE
    for _ in range(reserve.RESERVE_BYTES // reserve.FREEING_SLICE):
        reserve.release_if_low(tmp_path)
    assert reserve.held(tmp_path) == 0 and reserve.release_if_low(tmp_path) is False


def test_a_trimmed_reserve_is_topped_up_once_space_is_back(tmp_path, free):
    reserve.ensure(tmp_path)
    reserve.trim(tmp_path, reserve.FREEING_SLICE)
    free["free"] = reserve.RESERVE_BYTES  # room for the missing slice, not for a whole reserve more
    assert reserve.ensure(tmp_path) is False
    free["free"] = reserve.RESERVE_BYTES + reserve.FREEING_SLICE
    assert reserve.ensure(tmp_path) is True and reserve.held(tmp_path) == reserve.RESERVE_BYTES


def test_the_log_syncs_every_commit(tmp_path):
    conn = db.connect(tmp_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        conn.close()


def test_a_full_disk_opens_read_only_and_writes_fail_as_disk_full(tmp_path, monkeypatch):
    conn = db.connect(tmp_path)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.close()  # the last connection merges the WAL into the file and deletes it
    real_open = db._open

    def no_shm(path, read_only=False):
        if not read_only:
            raise sqlite3.OperationalError("disk I/O error")
        return real_open(path, read_only=True)

    monkeypatch.setattr(db, "_open", no_shm)
    monkeypatch.setattr(reserve, "free_bytes", lambda root: 0)
    conn = db.connect(tmp_path)
    try:
        assert conn.read_only and [tuple(r) for r in conn.execute("SELECT x FROM t")] == [(1,)]
        with pytest.raises(db.DiskFull, match="no space left on the disk under"):
            conn.execute("INSERT INTO t VALUES (2)")
    finally:
        conn.close()


def test_an_io_error_with_space_left_is_not_taken_for_a_full_disk(tmp_path, monkeypatch):
    db.connect(tmp_path).close()

    def broken(path, read_only=False):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(db, "_open", broken)
    monkeypatch.setattr(reserve, "free_bytes", lambda root: 1 << 30)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        db.connect(tmp_path)


def test_integrity_problems_of_a_sound_and_a_damaged_file(tmp_path):
    conn = db.connect(tmp_path)
    conn.close()
    assert db.integrity_problems(tmp_path) == []
    with open(db.db_path(tmp_path), "r+b") as f:
        f.write(b"\xff" * 100)
    assert db.integrity_problems(tmp_path) == ["file is not a database"]
