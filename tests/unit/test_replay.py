"""store.replay: folding the log alone gives back the stored projections, and any
change made behind the log's back shows up in diff()."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from mydocker.store.db import connect
from mydocker.store.events import Event, append
from mydocker.store.replay import diff, fold_log, stored_projections

from tests.fakes import create_payload, die_payload, start_payload

C1, C2, C3, C4 = ("1" * 64, "2" * 64, "3" * 64, "4" * 64)
IMAGE = "sha256:" + "9" * 64


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(tmp_path / "state")
    history(c)
    yield c
    c.close()


def history(conn: sqlite3.Connection) -> None:
    """A bit of everything: a full lifecycle, a restart, an OOM, a rename, images."""
    append(conn, "image", IMAGE, 0, [Event("import", {
        "tags": ["busybox:latest"], "size": 1234, "config": {"config": {"Cmd": ["sh"]}},
        "layers": ["l1", "l2"], "created": "2025-01-01T00:00:00Z"})])
    append(conn, "image", IMAGE, 1, [Event("tag", {"name": "mybox:1"}), Event("tag", {"name": "mybox:2"})])
    append(conn, "image", IMAGE, 3, [Event("untag", {"name": "mybox:2"})])

    # C1: create, start, die, stop, destroy: gone
    append(conn, "container", C1, 0, [Event("create", create_payload("gone", C1))])
    append(conn, "container", C1, 1, [Event("start", start_payload(10))])
    append(conn, "container", C1, 2, [Event("kill", {"signal": 15}), Event("die", die_payload(143)),
                                      Event("stop", {"timeout": 10.0})])
    append(conn, "container", C1, 5, [Event("destroying", {"cgroups": {}, "directory": "/x"}),
                                      Event("destroy", {"cgroups": {}, "directory": "/x"})])
    # C2: running
    append(conn, "container", C2, 0, [Event("create", create_payload("runner", C2))])
    append(conn, "container", C2, 1, [Event("start", start_payload(20))])
    append(conn, "container", C2, 2, [Event("adopt", {"monitor_pid": 77, "monitor_start": 7777})])
    # C3: stopped by the OOM killer, restarted, died again, renamed
    append(conn, "container", C3, 0, [Event("create", create_payload("oomer", C3))])
    append(conn, "container", C3, 1, [Event("start", start_payload(30))])
    append(conn, "container", C3, 2, [Event("die", die_payload(137, oom_killed=True, reason="oom"))])
    append(conn, "container", C3, 3, [Event("start", start_payload(31))])
    append(conn, "container", C3, 4, [Event("die", die_payload(0))])
    append(conn, "container", C3, 5, [Event("rename", {"name": "renamed"})])
    # C4: only created
    append(conn, "container", C4, 0, [Event("create", create_payload("fresh", C4))])


def test_replay_of_a_clean_log_matches(conn: sqlite3.Connection) -> None:
    assert diff(conn) == []
    folded = fold_log(conn)
    assert set(folded["containers"]) == {C2, C3, C4}
    assert {k: v["state"] for k, v in folded["containers"].items()} == {C2: "running", C3: "stopped", C4: "created"}
    assert folded["containers"][C3]["name"] == "renamed"
    assert folded["containers"][C3]["oom_killed"] == 0  # reset by the restart
    assert (folded["containers"][C2]["monitor_pid"], folded["containers"][C2]["version"]) == (77, 3)
    assert json.loads(folded["images"][IMAGE]["tags"]) == ["busybox:latest", "mybox:1"]
    assert folded == stored_projections(conn)


def test_tampered_state_is_reported_with_its_column(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE containers SET state = 'running' WHERE id = ?", (C3,))
    lines = diff(conn)
    assert len(lines) == 1
    assert C3 in lines[0] and "state" in lines[0]
    assert "'stopped'" in lines[0] and "'running'" in lines[0]


def test_every_tampered_column_is_reported(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE containers SET exit_code = 99, pid = 1 WHERE id = ?", (C3,))
    lines = diff(conn)
    assert len(lines) == 2
    assert any(" exit_code:" in line for line in lines)
    assert any(" pid:" in line for line in lines)


def test_deleted_row_is_reported_missing(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM containers WHERE id = ?", (C2,))
    assert diff(conn) == [f"containers {C2}: missing from the projection"]


def test_row_without_events_is_reported(conn: sqlite3.Connection) -> None:
    row = dict(conn.execute("SELECT * FROM containers WHERE id = ?", (C4,)).fetchone())
    row.update(id="5" * 64, name="ghost")
    columns = ", ".join(row)
    conn.execute(f"INSERT INTO containers ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    lines = diff(conn)
    assert lines == [f"containers {'5' * 64}: in the projection but not in the log"]


def test_a_removed_container_brought_back_is_reported(conn: sqlite3.Connection) -> None:
    row = dict(conn.execute("SELECT * FROM containers WHERE id = ?", (C4,)).fetchone())
    row.update(id=C1, name="gone")
    conn.execute(f"INSERT INTO containers ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                 list(row.values()))
    assert diff(conn) == [f"containers {C1}: in the projection but not in the log"]


def test_tampered_image_tags_are_reported(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE images SET tags = ? WHERE id = ?", (json.dumps(["busybox:latest"]), IMAGE))
    lines = diff(conn)
    assert len(lines) == 1 and "images" in lines[0] and "tags" in lines[0]


def test_deleted_image_is_reported_missing(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM images")
    assert diff(conn) == [f"images {IMAGE}: missing from the projection"]


def test_fold_does_not_write(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE containers SET state = 'running' WHERE id = ?", (C4,))
    before = [tuple(r) for r in conn.execute("SELECT * FROM containers ORDER BY id")]
    fold_log(conn)
    diff(conn)
    assert [tuple(r) for r in conn.execute("SELECT * FROM containers ORDER BY id")] == before
