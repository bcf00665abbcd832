"""store/snapshots.py: the state as of any instant, from the nearest snapshot and the
tail, equals the fold of the whole log up to that instant and the projections as they
were stored then; replay --check catches a snapshot that disagrees with the log."""

from __future__ import annotations

import random
import shutil
import sqlite3
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mydocker.store import asof, snapshots
from mydocker.store import events as store_events
from mydocker.store.check import check
from mydocker.store.db import connect
from mydocker.store.events import Event, append
from mydocker.store.replay import Tables, empty_tables, encoded, fold_range, stored_projections

from tests.fakes import create_payload, die_payload, start_payload

EVERY = 7  # small blocks: dozens of snapshots in a log of a few hundred events
IMAGE = "sha256:" + "9" * 64
NET = "n" * 64
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def stamp(i: int) -> str:
    return (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Log:
    """A log written through append(), with the stored projections recorded after each append."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.conn = connect(root)
        self.clock = 0
        self.seen: dict[int, Tables] = {0: empty_tables()}  # last seq -> stored projections then
        self.versions: dict[str, int] = {}
        self.rng = random.Random(3)

    def add(self, stype: str, sid: str, *batch: Event) -> None:
        # one instant per command, so that every instant falls between two recorded states
        self.clock += self.rng.choice([1, 1, 2, 5])
        for event in batch:
            event.time = stamp(self.clock)
        done = append(self.conn, stype, sid, self.versions.get(sid, 0), list(batch))
        self.versions[sid] = done[-1].version
        self.seen[done[-1].seq] = stored_projections(self.conn)


def write_history(log: Log, rng: random.Random) -> None:
    log.add("image", IMAGE, Event("import", {"tags": ["busybox:latest"], "size": 1, "layers": ["l"],
                                             "config": {"config": {}}, "created": "2025-01-01T00:00:00Z"}))
    log.add("network", NET, Event("create", {"name": "net", "driver": "bridge", "subnet": "10.9.0.0/24",
                                             "gateway": "10.9.0.1", "bridge": "mdbr-test"}))
    states: dict[str, str] = {}
    ips: dict[str, str] = {}
    for n in range(160):
        alive = [c for c in states]
        if len(alive) < 3 or rng.random() < 0.15:
            cid = f"{n:064x}"
            states[cid] = "created"
            log.add("container", cid, Event("create", create_payload(f"c{n}", cid)))
            continue
        cid = rng.choice(alive)
        state = states[cid]
        if state == "created":
            log.add("container", cid, Event("start", start_payload(100 + n)))
            ip = f"10.9.0.{n + 2}"
            log.add("network", NET, Event("allocate", {"ip": ip, "endpoint": {"container": cid}}))
            log.add("container", cid, Event("connect", {"endpoint": {"ip": ip, "ports": []}}))
            ips[cid], states[cid] = ip, "running"
        elif state == "running" and rng.random() < 0.3:
            log.add("container", cid, Event("pause", {}))
            states[cid] = "paused"
        elif state == "paused":
            log.add("container", cid, Event("unpause", {}))
            states[cid] = "running"
        elif state == "running":
            log.add("container", cid, Event("kill", {"signal": 9}), Event("die", die_payload(137)),
                    Event("disconnect", {}))
            log.add("network", NET, Event("release", {"ip": ips.pop(cid)}))
            states[cid] = "stopped"
        elif rng.random() < 0.3:
            log.add("container", cid, Event("rename", {"name": f"r{n}"}))
        elif rng.random() < 0.5:
            log.add("container", cid, Event("start", start_payload(300 + n)))
            ip = f"10.9.0.{n + 2}"
            log.add("network", NET, Event("allocate", {"ip": ip, "endpoint": {"container": cid}}))
            ips[cid], states[cid] = ip, "running"
        else:
            log.add("container", cid, Event("destroying", {}), Event("destroy", {}))
            del states[cid]
        if rng.random() < 0.05:
            log.add("image", IMAGE, Event("tag", {"name": f"mybox:{n}"}))
        if rng.random() < 0.05:
            log.add("volume", f"v{n}", Event("create", {"mountpoint": f"/v/{n}"}))


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Log]:
    saved = store_events.SNAPSHOT_EVERY
    store_events.SNAPSHOT_EVERY = EVERY
    try:
        log = Log(tmp_path_factory.mktemp("snapshots") / "root")
        write_history(log, random.Random(7))
        yield log
        log.conn.close()
    finally:
        store_events.SNAPSHOT_EVERY = saved


def as_stored(seen: dict[int, Tables], seq: int) -> Tables:
    """The projections as they stood once the last append at or before seq was done."""
    return seen[max(s for s in seen if s <= seq)]


def test_append_takes_a_snapshot_per_block(log: Log) -> None:
    seqs = [s for (s,) in log.conn.execute("SELECT seq FROM snapshots ORDER BY seq")]
    last = log.conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
    assert len(seqs) == last // EVERY  # batches of at most 3 events: each block is entered once
    assert len({s // EVERY for s in seqs}) == len(seqs)
    for seq in seqs:
        assert snapshots.decode(log.conn.execute("SELECT state FROM snapshots WHERE seq = ?", (seq,)).fetchone()[0]) \
            == log.seen[seq]
    assert check(log.conn) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(min_value=-5, max_value=2000))
def test_snapshot_path_and_full_fold_agree_at_any_instant(log: Log, offset: int) -> None:
    at = stamp(min(offset, log.clock + 5))
    seq, via_snapshot = snapshots.state_at(log.conn, at)
    full = encoded(fold_range(log.conn, empty_tables(), 0, seq))
    assert via_snapshot == full
    assert via_snapshot == as_stored(log.seen, seq)
    if offset < 1:
        assert seq == 0 and not any(via_snapshot.values())  # before the first event: nothing


def test_a_time_after_the_last_event_is_now(log: Log) -> None:
    seq, state = snapshots.state_at(log.conn, "2999-01-01T00:00:00.000000Z")
    assert state == stored_projections(log.conn)


def copy_of(log: Log, tmp_path: Path) -> sqlite3.Connection:
    log.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copytree(log.root, tmp_path / "copy")
    return connect(tmp_path / "copy")


def test_backfill_rebuilds_the_same_snapshots(log: Log, tmp_path: Path) -> None:
    conn = copy_of(log, tmp_path)
    before = conn.execute("SELECT seq, state FROM snapshots ORDER BY seq").fetchall()
    conn.execute("DELETE FROM snapshots WHERE seq > ?", (before[2][0],))
    saved = store_events.SNAPSHOT_EVERY
    store_events.SNAPSHOT_EVERY = EVERY
    try:
        assert snapshots.backfill(conn) == len(before) - 3
        after = {s: snapshots.decode(b) for s, b in conn.execute("SELECT seq, state FROM snapshots")}
        assert len(after) == len(before)
        for seq, state in after.items():  # at the first event of each block: maybe within a batch
            assert state == encoded(fold_range(conn, empty_tables(), 0, seq))
        assert check(conn) == []
    finally:
        store_events.SNAPSHOT_EVERY = saved
        conn.close()


def test_a_tampered_snapshot_is_caught(log: Log, tmp_path: Path) -> None:
    conn = copy_of(log, tmp_path)
    seq, blob = conn.execute("SELECT seq, state FROM snapshots ORDER BY seq LIMIT 1 OFFSET 5").fetchone()
    state = snapshots.decode(blob)
    victim = next(iter(state["containers"]))
    state["containers"][victim]["state"] = "hacked"
    conn.execute("UPDATE snapshots SET state = ? WHERE seq = ?", (snapshots.encode(state), seq))
    conn.execute("UPDATE snapshots SET state = ? WHERE seq = (SELECT MAX(seq) FROM snapshots)",
                 (zlib.compress(b"not json"),))
    problems = check(conn)
    assert any(line.startswith(f"snapshot {seq}: containers {victim} state:") for line in problems)
    assert any("unreadable" in line for line in problems)
    assert len(problems) == 2
    conn.close()


def test_a_tampered_event_and_a_tampered_row_are_caught(log: Log, tmp_path: Path) -> None:
    conn = copy_of(log, tmp_path)
    live = conn.execute("SELECT id, name FROM containers ORDER BY created_at LIMIT 1").fetchone()
    conn.execute("UPDATE containers SET name = 'forged' WHERE id = ?", (live[0],))
    conn.execute("DROP TRIGGER events_are_append_only_update")
    conn.execute("UPDATE events SET payload = json_set(payload, '$.name', 'other') "
                 "WHERE stream_id = ? AND type = 'create'", (live[0],))
    problems = check(conn)
    assert any(line.startswith(f"containers {live[0]} name: log says 'other', stored 'forged'") or
               line.startswith(f"containers {live[0]} name:") for line in problems)
    assert any(line.startswith("snapshot ") for line in problems)  # the snapshots disagree with the edited log
    conn.close()


def test_edits_to_removed_containers_are_caught_where_they_show(log: Log, tmp_path: Path) -> None:
    """check folds a removed container only as far as a snapshot shows it: an edit there,
    or one that undoes its removal, is still caught."""
    conn = copy_of(log, tmp_path)
    seq, blob = conn.execute("SELECT seq, state FROM snapshots ORDER BY seq LIMIT 1 OFFSET 3").fetchone()
    live_now = {cid for (cid,) in conn.execute("SELECT id FROM containers")}
    shown = sorted(set(snapshots.decode(blob)["containers"]) - live_now)
    assert len(shown) >= 2
    conn.execute("DROP TRIGGER events_are_append_only_update")
    conn.execute("UPDATE events SET payload = json_set(payload, '$.name', 'edited')"
                 " WHERE stream_id = ? AND type = 'create'", (shown[0],))
    conn.execute("UPDATE events SET type = 'stop' WHERE stream_id = ? AND type = 'destroy'", (shown[1],))
    problems = check(conn)
    assert any(line.startswith("snapshot ") and f"containers {shown[0]} name: log says 'edited'" in line
               for line in problems)
    assert f"containers {shown[1]}: missing from the projection" in problems
    conn.close()


def test_a_log_the_fold_cannot_apply_is_one_line(log: Log, tmp_path: Path) -> None:
    conn = copy_of(log, tmp_path)
    live = conn.execute("SELECT id FROM containers ORDER BY created_at LIMIT 1").fetchone()[0]
    conn.execute("DROP TRIGGER events_are_append_only_update")
    conn.execute("UPDATE events SET payload = json_remove(payload, '$.name') WHERE stream_id = ? AND type = 'create'",
                 (live,))
    assert check(conn) == ["the log does not fold: KeyError: 'name'"]
    conn.execute("UPDATE events SET type = 'forged' WHERE stream_id = ? AND type = 'create'", (live,))
    problems = check(conn)
    assert len(problems) == 1 and problems[0].startswith("the log does not fold: ValueError: ")
    assert f"for unknown container {live}" in problems[0]
    # the check leaves nothing behind on the connection
    assert conn.execute("SELECT name FROM temp.sqlite_master").fetchall() == []
    conn.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(min_value=-2, max_value=700))
def test_as_of_tables_are_the_projections_as_stored_then(log: Log, offset: int) -> None:
    conn = connect(log.root)
    try:
        seq = asof.into_temp(conn, stamp(min(offset, log.clock + 2)))
        assert conn.execute("SELECT MAX(seq) FROM events").fetchone()[0] == (seq or None)
        assert stored_projections_of(conn, "temp") == as_stored(log.seen, seq)
    finally:
        conn.close()


def stored_projections_of(conn: sqlite3.Connection, schema: str) -> Tables:
    out: Tables = {}
    for table in empty_tables():
        cursor = conn.execute(f"SELECT * FROM {schema}.{table}")
        names = [d[0] for d in cursor.description]
        out[table] = {row[0]: dict(zip(names, row, strict=True)) for row in cursor}
    return out


def test_a_snapshot_older_than_a_column_reads_with_its_default(log: Log, tmp_path: Path) -> None:
    conn = copy_of(log, tmp_path)
    seq, blob = conn.execute("SELECT seq, state FROM snapshots ORDER BY seq LIMIT 1 OFFSET 8").fetchone()
    state = snapshots.decode(blob)
    assert state["containers"]
    for row in state["containers"].values():
        del row["restart_count"]  # as a snapshot taken before migration 0006 has it
    conn.execute("UPDATE snapshots SET state = ? WHERE seq = ?", (snapshots.encode(state), seq))
    when = conn.execute("SELECT time FROM events WHERE seq = ?", (seq,)).fetchone()[0]
    assert asof.into_temp(conn, when) == seq
    assert {r for (r,) in conn.execute("SELECT restart_count FROM temp.containers")} == {0}
    assert len(conn.execute("SELECT id FROM temp.containers").fetchall()) == len(state["containers"])
    conn.close()
