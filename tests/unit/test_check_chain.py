"""store/check.py with store/chain.py: a check trusts what an earlier check proved only
while the log and the snapshots up to it are byte for byte what that check folded.

Every tampering is tried three ways: with the chain a clean check stored ("chain"),
with no stored chain (the first check of a log: a full fold, "none"), and with
`full=True` (the chain ignored). The fold sees the same differences in all three; the
chain adds what no fold can see."""

from __future__ import annotations

import os
import random
import select
import sqlite3
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mydocker.store import chain, snapshots
from mydocker.store import check as check_module
from mydocker.store import events as store_events
from mydocker.store.check import check
from mydocker.store.events import Event, append

from tests.unit.test_snapshots import EVERY, Log, copy_of, write_history

MODES = ("chain", "none", "full")


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Log]:
    saved = store_events.SNAPSHOT_EVERY
    store_events.SNAPSHOT_EVERY = EVERY
    try:
        log = Log(tmp_path_factory.mktemp("chain") / "root")
        write_history(log, random.Random(11))
        assert check(log.conn) == []  # stores the chain
        yield log
        log.conn.close()
    finally:
        store_events.SNAPSHOT_EVERY = saved


@pytest.fixture
def folds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The seq each check's fold started after."""
    starts: list[int] = []
    real = check_module.fold_range

    def spy(conn: sqlite3.Connection, tables: Any, after_seq: int = 0, *args: Any, **kwargs: Any) -> Any:
        starts.append(after_seq)
        return real(conn, tables, after_seq, *args, **kwargs)

    monkeypatch.setattr(check_module, "fold_range", spy)
    return starts


def snapshot_seqs(conn: sqlite3.Connection) -> list[int]:
    return [seq for (seq,) in conn.execute("SELECT seq FROM snapshots ORDER BY seq")]


def run(conn: sqlite3.Connection, mode: str) -> list[str]:
    if mode == "none":
        conn.execute("UPDATE snapshots SET chain = NULL, checked_at = NULL")
    return check(conn, full=mode == "full")


def unlocked(log: Log, tmp_path: Path) -> sqlite3.Connection:
    conn = copy_of(log, tmp_path)
    conn.execute("DROP TRIGGER events_are_append_only_update")
    conn.execute("DROP TRIGGER events_are_append_only_delete")
    return conn


def test_a_clean_check_stores_the_chain_and_the_next_folds_from_its_last_snapshot(
        log: Log, tmp_path: Path, folds: list[int]) -> None:
    conn = copy_of(log, tmp_path)
    seqs = snapshot_seqs(conn)
    assert conn.execute("SELECT COUNT(*) FROM snapshots WHERE chain IS NULL").fetchone()[0] == 0
    assert check(conn) == []
    assert check(conn, full=True) == []
    assert folds == [seqs[-1], 0]
    # the log grows: each append that takes a snapshot proves it and links it, so the
    # next check folds from the newest one, not from the one the last check reached
    cid = "f" * 64
    for n in range(3 * EVERY):
        append(conn, "container", cid, n, [Event("create" if n == 0 else "rename", {
            "name": f"late{n}", "image": "busybox", "image_id": "x", "command": [], "config": {}})])
    assert len(snapshot_seqs(conn)) >= len(seqs) + 2
    assert conn.execute("SELECT COUNT(*) FROM snapshots WHERE chain IS NULL").fetchone()[0] == 0
    assert check(conn) == []
    assert folds[2] == snapshot_seqs(conn)[-1] > seqs[-1]
    conn.close()


def test_a_log_the_runtime_wrote_needs_no_first_full_check(tmp_path: Path, folds: list[int],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_events, "SNAPSHOT_EVERY", EVERY)
    log = Log(tmp_path / "root")
    write_history(log, random.Random(5))
    seqs = snapshot_seqs(log.conn)
    assert len(seqs) >= 3
    held = [tuple(r) for r in log.conn.execute("SELECT seq, time, state FROM snapshots ORDER BY seq")]
    stored = [c for (c,) in log.conn.execute("SELECT chain FROM snapshots ORDER BY seq")]
    assert stored == chain.links(log.conn, held)  # each append's link is the one a check computes
    assert check(log.conn) == []
    assert folds == [seqs[-1]]
    log.conn.close()


def _append_until_a_snapshot(conn: sqlite3.Connection, cid: str) -> None:
    """A new container's events, one append each, until one of them takes a snapshot."""
    before = len(snapshot_seqs(conn))
    n = 0
    while len(snapshot_seqs(conn)) == before:
        append(conn, "container", cid, n, [Event("create" if n == 0 else "rename", {
            "name": f"late{n}", "image": "busybox", "image_id": "x", "command": [], "config": {}})])
        n += 1


def test_an_append_whose_projections_are_not_the_logs_links_nothing(
        log: Log, tmp_path: Path, folds: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_events, "SNAPSHOT_EVERY", EVERY)
    conn = copy_of(log, tmp_path)
    before = snapshot_seqs(conn)
    sid = conn.execute("SELECT id FROM containers LIMIT 1").fetchone()[0]
    conn.execute("UPDATE containers SET exit_code = 99 WHERE id = ?", (sid,))  # behind the log's back
    _append_until_a_snapshot(conn, "e" * 64)
    assert conn.execute("SELECT chain FROM snapshots ORDER BY seq DESC LIMIT 1").fetchone()[0] is None
    problems = check(conn)
    assert folds == [before[-1]]
    assert any(sid in line and "exit_code" in line for line in problems), problems
    conn.close()


def test_an_append_after_a_stale_link_links_nothing(log: Log, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_events, "SNAPSHOT_EVERY", EVERY)
    conn = copy_of(log, tmp_path)
    before = snapshot_seqs(conn)
    conn.execute("UPDATE snapshots SET chain = 'another fold:' || substr(chain, 18) WHERE seq = ?", (before[-1],))
    _append_until_a_snapshot(conn, "d" * 64)
    assert conn.execute("SELECT chain FROM snapshots ORDER BY seq DESC LIMIT 1").fetchone()[0] is None
    conn.close()


def test_backfill_links_what_it_folds_from_a_proven_start(log: Log, tmp_path: Path, folds: list[int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_events, "SNAPSHOT_EVERY", EVERY)
    conn = copy_of(log, tmp_path)
    seqs = snapshot_seqs(conn)
    conn.execute("DELETE FROM snapshots WHERE seq > ?", (seqs[0],))
    assert snapshots.backfill(conn) == len(seqs) - 1  # (at a block's first event: not append's seqs)
    assert conn.execute("SELECT COUNT(*) FROM snapshots WHERE chain IS NULL").fetchone()[0] == 0
    assert check(conn) == []
    assert folds == [snapshot_seqs(conn)[-1]]
    # from a snapshot nothing proved, backfill takes snapshots but vouches for none
    conn.execute("UPDATE snapshots SET chain = NULL WHERE seq = ?", (seqs[0],))
    conn.execute("DELETE FROM snapshots WHERE seq > ?", (seqs[0],))
    assert snapshots.backfill(conn) == len(seqs) - 1
    assert conn.execute("SELECT COUNT(*) FROM snapshots WHERE chain IS NULL").fetchone()[0] == len(seqs)
    conn.close()


def test_a_new_version_of_the_fold_trusts_nothing_and_reports_nothing(
        log: Log, tmp_path: Path, folds: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    conn = copy_of(log, tmp_path)
    monkeypatch.setattr(chain, "seed", lambda: b"another fold" * 3)
    assert check(conn) == []
    assert folds == [0]
    assert check(conn) == []  # its own chain, stored by the check before
    assert folds[1] == snapshot_seqs(conn)[-1]
    conn.close()


def edit_fold_reads(conn: sqlite3.Connection) -> Callable[[list[str]], bool]:
    """An old event's payload that the projections show: a live container's name."""
    cid = conn.execute("SELECT id FROM containers ORDER BY created_at LIMIT 1").fetchone()[0]
    conn.execute("UPDATE events SET payload = json_set(payload, '$.name', 'edited')"
                 " WHERE stream_id = ? AND type = 'create'", (cid,))
    return lambda lines: any(f"containers {cid} name: log says 'edited'" in line for line in lines)


def delete_fold_reads(conn: sqlite3.Connection) -> Callable[[list[str]], bool]:
    """An old event the projections show: the start of a container still running."""
    cid, seq = conn.execute("SELECT e.stream_id, MAX(e.seq) FROM events e JOIN containers c ON c.id = e.stream_id"
                            " WHERE c.state = 'running' AND e.type = 'start' GROUP BY e.stream_id"
                            " ORDER BY 2 LIMIT 1").fetchone()
    assert seq < snapshot_seqs(conn)[-1]
    conn.execute("DELETE FROM events WHERE seq = ?", (seq,))
    return lambda lines: any(line.startswith(f"containers {cid} state: log says ") for line in lines)


def edit_row(conn: sqlite3.Connection) -> Callable[[list[str]], bool]:
    cid = conn.execute("SELECT id FROM containers ORDER BY created_at LIMIT 1").fetchone()[0]
    conn.execute("UPDATE containers SET name = 'forged' WHERE id = ?", (cid,))
    return lambda lines: any(line.startswith(f"containers {cid} name: log says ") and line.endswith("stored 'forged'")
                             for line in lines)


def edit_snapshot(conn: sqlite3.Connection) -> Callable[[list[str]], bool]:
    """A snapshot in the middle of the verified ones, and the verified last one."""
    seqs = snapshot_seqs(conn)
    seq = seqs[len(seqs) // 2]
    state = snapshots.decode(conn.execute("SELECT state FROM snapshots WHERE seq = ?", (seq,)).fetchone()[0])
    victim = next(iter(state["containers"]))
    state["containers"][victim]["state"] = "hacked"
    conn.execute("UPDATE snapshots SET state = ? WHERE seq = ?", (snapshots.encode(state), seq))
    conn.execute("UPDATE snapshots SET state = ? WHERE seq = ?", (zlib.compress(b"not json"), seqs[-1]))
    return lambda lines: (any(line.startswith(f"snapshot {seq}: containers {victim} state:") for line in lines)
                          and any(line.startswith(f"snapshot {seqs[-1]}: unreadable") for line in lines))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tamper", [edit_fold_reads, delete_fold_reads, edit_row, edit_snapshot])
def test_what_the_fold_sees_is_caught_the_same_with_or_without_the_chain(
        log: Log, tmp_path: Path, mode: str, tamper: Callable[[sqlite3.Connection], Callable[[list[str]], bool]],
) -> None:
    conn = unlocked(log, tmp_path)
    caught = tamper(conn)
    lines = run(conn, mode)
    assert caught(lines), lines
    assert not any("changed since the check" in line for line in lines)  # the fold says what
    assert run(conn, mode) == lines  # a check that fails stores nothing
    conn.close()


def first_destroying(conn: sqlite3.Connection) -> int:
    """An event no fold reads: `destroying`, which its `destroy` follows in the same batch."""
    seq = conn.execute("SELECT MIN(seq) FROM events WHERE type = 'destroying'").fetchone()[0]
    assert seq < snapshot_seqs(conn)[-1]
    return seq


def edit_nothing_reads(conn: sqlite3.Connection) -> int:
    seq = first_destroying(conn)
    conn.execute("UPDATE events SET payload = '{\"directory\":\"/elsewhere\"}' WHERE seq = ?", (seq,))
    return seq


def delete_nothing_reads(conn: sqlite3.Connection) -> int:
    seq = first_destroying(conn)
    conn.execute("DELETE FROM events WHERE seq = ?", (seq,))
    return seq


def edit_actor(conn: sqlite3.Connection) -> int:
    conn.execute("UPDATE events SET actor = '{\"user\":\"someone else\"}' WHERE seq = 5")
    return 5


def swap(conn: sqlite3.Connection) -> int:
    """Two events of different streams in one block trade places: the same fold."""
    start, end = snapshot_seqs(conn)[3:5]
    seq = next(s for s in range(start + 1, end - 1) if conn.execute(
        "SELECT COUNT(DISTINCT stream_id) FROM events WHERE seq IN (?, ?)", (s, s + 1)).fetchone()[0] == 2)
    conn.execute("UPDATE events SET seq = -1 WHERE seq = ?", (seq,))
    conn.execute("UPDATE events SET seq = ? WHERE seq = ?", (seq, seq + 1))
    conn.execute("UPDATE events SET seq = ? WHERE seq = -1", (seq + 1,))
    return seq


def delete_snapshot(conn: sqlite3.Connection) -> int:
    seq = snapshot_seqs(conn)[4]
    conn.execute("DELETE FROM snapshots WHERE seq = ?", (seq,))
    return seq


@pytest.mark.parametrize("child", [False, True], ids=["here", "with-a-child"])
@pytest.mark.parametrize("tamper", [edit_nothing_reads, delete_nothing_reads, edit_actor, swap,
                                    delete_snapshot])
def test_what_no_fold_sees_is_caught_by_the_chain(log: Log, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   tamper: Callable[[sqlite3.Connection], int], child: bool) -> None:
    if child:
        monkeypatch.setattr(chain, "SPLIT_FROM", 1)
    conn = unlocked(log, tmp_path)
    seq = tamper(conn)
    lines = check(conn)
    assert len(lines) == 1, lines
    broken = min(s for s in snapshot_seqs(conn) if s >= seq)
    assert lines[0].startswith(f"snapshot {broken}: the events up to it, or the snapshots, changed since the check of ")
    # --full proves what the fold proves (nothing wrong with any projection or snapshot) and
    # stores the chain of the log as it is now: the next check trusts it
    assert check(conn, full=True) == []
    assert check(conn) == []
    conn.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="mydocker runs as root")
def test_the_command(log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mydocker.cli.main import main
    from mydocker.core import roottags

    copy_of(log, tmp_path).close()
    root = str(tmp_path / "copy")
    try:
        assert main(["--root", root, "replay", "--check", "--full"]) == 0
        assert capsys.readouterr().out == "projections match the log\n"
        assert main(["--root", root, "replay", "--full"]) == 125
        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", "Error: --full goes with --check\n")
        conn = unlocked(log, tmp_path / "again")
        edit_actor(conn)
        conn.close()
        assert main(["--root", str(tmp_path / "again" / "copy"), "replay", "--check"]) == 1
        captured = capsys.readouterr()
        assert "changed since the check of" in captured.out
        assert captured.err == "Error: 1 difference(s) between the log and the projections\n"
    finally:
        roottags.unregister(root)
        roottags.unregister(str(tmp_path / "again" / "copy"))


def test_a_child_hashing_half_the_log_gives_the_same_chain(log: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    held = [tuple(row) for row in log.conn.execute("SELECT seq, time, state FROM snapshots ORDER BY seq")]
    alone = chain.links(log.conn, held, split=0)  # type: ignore[arg-type]
    assert len(alone) == len(held) and len(set(alone)) == len(alone)
    hashed_here: list[int] = []
    real = chain.block_digests

    def spy(conn: sqlite3.Connection, bounds: list[int]) -> list[bytes]:
        hashed_here.append(len(bounds) - 1)
        return real(conn, bounds)

    monkeypatch.setattr(chain, "block_digests", spy)
    assert chain.links(log.conn, held, split=1) == alone  # type: ignore[arg-type]
    assert 0 < hashed_here[0] < len(held) and len(hashed_here) == 1  # the child hashed the rest
    monkeypatch.setattr(chain.sys, "executable", "/bin/false")  # a child that fails: hashed here instead
    assert chain.links(log.conn, held, split=1) == alone  # type: ignore[arg-type]


@pytest.mark.parametrize("after", ["waits", "garbage", "exits"])
def test_a_first_check_hashes_from_the_end_until_it_meets_the_child(
        log: Log, monkeypatch: pytest.MonkeyPatch, after: str) -> None:
    """The child gives the first K digests (then waits to be killed, prints a bad line,
    or exits): this process hashes the other blocks, from the last one down, no more."""
    held = [tuple(row) for row in log.conn.execute("SELECT seq, time, state FROM snapshots ORDER BY seq")]
    bounds = [0, *(seq for seq, _, _ in held)]
    digests = chain.block_digests(log.conn, bounds)
    real = chain.block_digest
    k = len(digests) // 2
    tail = {"waits": "time.sleep(60)", "garbage": "print('oops', flush=True); time.sleep(60)", "exits": "pass"}
    script = (f"import sys, time; sys.stdout.write({''.join(d.hex() + chr(10) for d in digests[:k])!r});"
              f" sys.stdout.flush(); {tail[after]}")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    hashed_here: list[int] = []

    def spy(conn: sqlite3.Connection, after: int, upto: int) -> bytes:
        if not hashed_here:  # let the child's lines arrive first: then what is left is exact
            select.select([child.stdout], [], [], 30)
            time.sleep(0.2)
        hashed_here.append(after)
        return real(conn, after, upto)

    monkeypatch.setattr(chain, "block_digest", spy)
    assert chain._meet(log.conn, bounds, child) == digests
    assert hashed_here == bounds[k:-1][::-1]
    assert child.returncode is not None  # killed or gone, not left behind


def test_a_first_check_with_a_child_gives_the_chain_of_one_that_hashes_alone(log: Log) -> None:
    held = [tuple(row) for row in log.conn.execute("SELECT seq, time, state FROM snapshots ORDER BY seq")]
    alone = chain.links(log.conn, held, split=0)  # type: ignore[arg-type]
    assert chain.begin(log.conn, held, split=1, all_in_child=True)() == alone  # type: ignore[arg-type]
