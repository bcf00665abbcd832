"""reconcile.survey runs before every command: with hundreds of running containers
its /proc reads are a cost every command pays, so a container whose monitor is alive
costs one read (the monitor's), and only a container without one has its init read."""

from __future__ import annotations

from pathlib import Path

import pytest
from mydocker.core import procinfo
from mydocker.statemachine import reconcile
from mydocker.store.db import connect

BOOT = "boot-1"


def _running(conn, cid: str, pid: int, pid_start: int, monitor: int, monitor_start: int) -> None:
    conn.execute(
        "INSERT INTO containers (id, name, version, state, image, image_id, command, config, created_at,"
        " pid, pid_start, boot_id, monitor_pid, monitor_start) VALUES (?, ?, 2, 'running', 'busybox', 'sha',"
        " '[]', '{}', '2026-01-01T00:00:00.000000Z', ?, ?, ?, ?, ?)",
        (cid, f"n-{cid}", pid, pid_start, BOOT, monitor, monitor_start))
    for version, etype in ((1, "create"), (2, "start")):
        conn.execute("INSERT INTO events (stream_id, stream_type, version, type, time) VALUES (?, 'container', ?, ?,"
                     " '2026-01-01T00:00:00.000000Z')", (cid, version, etype))


def test_survey_reads_the_init_only_without_a_live_monitor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = connect(str(tmp_path))
    _running(conn, "watched", pid=101, pid_start=1, monitor=201, monitor_start=2)
    _running(conn, "orphan", pid=102, pid_start=1, monitor=202, monitor_start=2)
    _running(conn, "gone", pid=103, pid_start=1, monitor=203, monitor_start=2)
    conn.commit()
    live = {101: 1, 201: 2, 102: 1}  # the orphan's monitor and all of `gone` have exited
    reads: list[int] = []

    def start_time(pid: int) -> int | None:
        reads.append(pid)
        return live.get(pid)

    monkeypatch.setattr(procinfo, "start_time", start_time)
    monkeypatch.setattr(procinfo, "boot_id", lambda: BOOT)
    found = {(f.container_id, f.problem) for f in reconcile.survey(conn)}
    assert found == {("orphan", "orphaned"), ("gone", "dead")}
    assert sorted(reads) == [102, 103, 201, 202, 203], "the watched container's init is not read"
    conn.close()
