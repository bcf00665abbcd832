"""A detached container's monitor becomes the minimal waiter (core.waiter) once the
container runs, and what it records at the end is what the monitor always recorded."""

from __future__ import annotations

import time
from pathlib import Path


def wait_exited(md, ref: str, limit: float = 60) -> dict:
    deadline = time.monotonic() + limit  # a bound on a hang, not a speed check
    while (state := md.inspect(ref)["State"])["Status"] == "running":
        assert time.monotonic() < deadline, f"{ref} never exited"
        time.sleep(0.1)
    return state


def test_detached_monitor_is_a_bare_interpreter(md):
    md.ok("run", "-d", "--network", "none", "--name", "waity", "busybox", "sleep", "60")
    try:
        monitor = md.inspect("waity")["Mydocker"]["MonitorPid"]
        deadline = time.monotonic() + 30
        while b"waiter.py" not in Path(f"/proc/{monitor}/cmdline").read_bytes():
            assert time.monotonic() < deadline, "the monitor never became the waiter"
            time.sleep(0.05)
        assert Path(f"/proc/{monitor}/cmdline").read_bytes().split(b"\0")[1:3] == [b"-I", b"-S"]
        maps = Path(f"/proc/{monitor}/maps").read_text()
        assert "site-packages" not in maps and "sqlite" not in maps
    finally:
        md.ok("rm", "-f", "waity")


def test_detached_exit_code_output_and_events_on_the_bridge(md):
    cid = md.ok("run", "-d", "--name", "quick", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7").strip()
    state = wait_exited(md, "quick")
    assert state["ExitCode"] == 7 and state["OOMKilled"] is False
    assert md.inspect("quick")["Mydocker"]["DieReason"] == "exited"
    assert md.ok("logs", "quick") == "out\n"
    assert md.events(cid)[-3:] == ["start", "die", "disconnect"]
    with md.db() as conn:
        actors = [r[0] for r in conn.execute(
            "SELECT json_extract(actor, '$.command') FROM events WHERE stream_id = ? AND type IN ('die', 'disconnect')"
            " ORDER BY version", (cid,))]
    assert actors == ["monitor", "monitor"]  # as the forked monitor recorded them
    md.ok("rm", "quick")


def test_detached_oom_kill_is_recorded(md):
    hog = "x=a; while true; do x=$x$x; done"
    md.ok("run", "-d", "--network", "none", "--name", "hog", "-m", "32m", "busybox", "sh", "-c", hog)
    state = wait_exited(md, "hog", limit=120)
    assert state["OOMKilled"] is True and state["ExitCode"] == 137
    assert md.inspect("hog")["Mydocker"]["DieReason"] == "oom"
    md.ok("rm", "hog")


def test_detached_autoremove_happens_after_exit(md):
    cid = md.ok("run", "-d", "--rm", "--name", "gone", "busybox", "true").strip()
    deadline = time.monotonic() + 60
    while "gone" in md.ok("ps", "-a", "--format", "{{.Names}}").split():
        assert time.monotonic() < deadline, "--rm never removed it"
        time.sleep(0.1)
    assert md.events(cid)[-2:] == ["destroying", "destroy"]
