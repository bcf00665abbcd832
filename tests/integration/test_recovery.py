"""Crash recovery: kill -9 at every step between side effects, then any command
must find the container consistent, the projections equal to the log, and
nothing leaked (the md fixture checks the host afterwards)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest


def settle(md, ref: str, timeout: float = 60.0) -> dict:
    """Run reading commands (each reconciles) until the container is at rest."""
    deadline = time.monotonic() + timeout
    while True:
        md.ok("ps", "-a")
        found = md("inspect", ref)
        if found.code != 0:
            return {}
        import json

        info = json.loads(found.out)[0]
        state, mpid = info["State"], info["Mydocker"]["MonitorPid"]
        consistent = (
            (state["Status"] == "running" and _alive_pid(state["Pid"]) and _alive_pid(mpid))
            or state["Status"] in ("exited", "created")
        )
        if consistent or time.monotonic() > deadline:
            return info
        time.sleep(0.1)


def wait_dead(*pids: int, timeout: float = 60.0) -> None:
    """Until each pid has ended (a zombie counts): SIGKILL and a command's own end
    take their time on a loaded machine."""
    deadline = time.monotonic() + timeout
    while any(_alive_pid(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive_pid(p) for p in pids), pids


def _alive_pid(pid: int) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def assert_consistent(md, ref: str) -> dict:
    info = settle(md, ref)
    if info:
        state = info["State"]
        if state["Status"] == "running":
            assert _alive_pid(state["Pid"]) and _alive_pid(info["Mydocker"]["MonitorPid"]), info
        else:
            assert state["Pid"] == 0
            assert not any(os.path.isdir(d) for d in info["Mydocker"]["Cgroups"].values()), "dead but cgroups left"
    assert md.ok("system", "check").strip().endswith("the log and the kernel agree")
    assert md.ok("replay", "--check").strip() == "projections match the log"
    return info


def crashing(point: str) -> dict:
    return {"MYDOCKER_CRASH_AT": point}


@pytest.mark.parametrize("point", ["run.after-create", "monitor.after-cgroups", "monitor.before-go",
                                   "monitor.after-start"])
def test_run_killed_at_every_step(md, point):
    result = md("run", "-d", "--name", "victim", "busybox", "sleep", "300", env=crashing(point))
    assert result.code != 0
    info = assert_consistent(md, "victim")
    assert info, "the container's create event was recorded before any crash point"
    md.ok("rm", "-f", "victim")


def test_monitor_killed_before_recording_the_exit(md):
    md.ok("run", "-d", "--name", "quiet", "busybox", "sh", "-c", "sleep 0.3; exit 3",
          env=crashing("monitor.before-die"))
    monitor = md.inspect("quiet")["Mydocker"]["MonitorPid"]
    wait_dead(monitor)  # it crashes once the container has exited, before it records why
    info = assert_consistent(md, "quiet")
    assert info["State"]["Status"] == "exited"
    assert info["Mydocker"]["DieReason"] == "monitor lost"
    md.ok("rm", "quiet")


@pytest.mark.parametrize("point", ["stop.after-kill-event"])
def test_stop_killed_midway(md, point):
    md.ok("run", "-d", "--name", "st", "busybox", "top")
    assert md("stop", "-t", "1", "st", env=crashing(point)).code != 0
    info = assert_consistent(md, "st")
    assert info["State"]["Status"] == "running"
    md.ok("stop", "-t", "1", "st")
    assert md.inspect("st")["State"]["Status"] == "exited"
    md.ok("rm", "st")


@pytest.mark.parametrize("point", ["rm.after-kill-event", "rm.after-destroying", "rm.after-release"])
def test_rm_force_killed_midway(md, point):
    cid = md.ok("run", "-d", "--name", "gone", "busybox", "top").strip()
    assert md("rm", "-f", "gone", env=crashing(point)).code != 0
    info = assert_consistent(md, cid)
    if point == "rm.after-kill-event":
        assert info["State"]["Status"] == "running"
        md.ok("rm", "-f", "gone")
    else:
        assert info == {}, "a half-done rm is finished by the next command"
        assert md.events(cid)[-2:] == ["destroying", "destroy"]
    assert not (md.root / "containers" / cid).exists()


def test_monitor_killed_container_is_adopted_and_its_exit_recorded(md):
    # sleep, not top: with its monitor gone nobody reads the container's stdout, and
    # top's next refresh would die of SIGPIPE before the test kills it.
    md.ok("run", "-d", "--name", "orphan", "busybox", "sleep", "300")
    info = md.inspect("orphan")
    os.kill(info["Mydocker"]["MonitorPid"], signal.SIGKILL)
    wait_dead(info["Mydocker"]["MonitorPid"])
    adopted = assert_consistent(md, "orphan")
    assert adopted["State"]["Status"] == "running"
    watcher = adopted["Mydocker"]["MonitorPid"]
    assert watcher != info["Mydocker"]["MonitorPid"]
    os.kill(info["State"]["Pid"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while md.inspect("orphan")["State"]["Status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    state = md.inspect("orphan")["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 255
    assert "status unknown" in md.inspect("orphan")["Mydocker"]["DieReason"]
    assert md.events(info["Id"])[-3:] == ["adopt", "die", "disconnect"]
    md.ok("rm", "orphan")


def test_monitor_and_container_both_killed_is_never_left_running(md):
    md.ok("run", "-d", "--name", "both", "busybox", "top")
    info = md.inspect("both")
    os.kill(info["Mydocker"]["MonitorPid"], signal.SIGKILL)
    os.kill(info["State"]["Pid"], signal.SIGKILL)
    wait_dead(info["Mydocker"]["MonitorPid"], info["State"]["Pid"])
    after = assert_consistent(md, "both")
    assert after["State"]["Status"] == "exited"
    md.ok("rm", "both")


def test_container_init_killed_dies_with_137(md):
    md.ok("run", "-d", "--name", "init9", "busybox", "top")
    os.kill(md.inspect("init9")["State"]["Pid"], signal.SIGKILL)
    assert md.ok("wait", "init9").strip() == "137"
    assert md.inspect("init9")["Mydocker"]["DieReason"] == "killed by signal 9"
    md.ok("rm", "init9")


def test_simulated_reboot_stops_every_running_container(md, tmp_path):
    for name in ("r1", "r2"):
        md.ok("run", "-d", "--name", name, "busybox", "top")
    md.ok("run", "--name", "r3", "busybox", "true")
    fake = tmp_path / "boot_id"
    fake.write_text("00000000-0000-0000-0000-000000000000\n")
    md.ok("ps", env={"MYDOCKER_BOOT_ID_FILE": str(fake)})
    for name in ("r1", "r2"):
        info = md.inspect(name)
        assert info["State"]["Status"] == "exited"
        assert info["Mydocker"]["DieReason"] == "host reboot"
    assert md.inspect("r3")["Mydocker"]["DieReason"] == "exited"
    assert md.ok("replay", "--check").strip() == "projections match the log"
    md.ok("rm", "r1", "r2", "r3")


DOCKER_LIKE = re.compile(r"^Error: (No such container: \S+|Container \S+ is not running)$")


def test_parallel_rm_and_stop_remove_each_container_once(md):
    ids = [md.ok("run", "-d", "--name", f"par{i}", "busybox", "top").strip() for i in range(10)]

    def act(i: int) -> subprocess.CompletedProcess:
        name = f"par{i % 10}"  # every container gets one rm -f and one stop at once
        verb = ["rm", "-f", name] if i < 10 else ["stop", "-t", "1", name]
        return md(*verb, timeout=120)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(act, range(20)))
    for r in results:
        for line in r.err.splitlines():
            assert DOCKER_LIKE.match(line), line
    # whatever stop left behind, rm -f finishes; then every stream ends in one destroy
    for i in range(10):
        assert md(*["rm", "-f", f"par{i}"]).code == 0
    with md.db() as conn:
        for cid in ids:
            types = [t for (t,) in conn.execute(
                "SELECT type FROM events WHERE stream_id = ? ORDER BY version", (cid,))]
            assert types.count("destroy") == 1, types
            assert types.count("die") == types.count("start") == 1, types
            assert types[-1] == "destroy"
    assert md.ok("replay", "--check").strip() == "projections match the log"


def test_many_commands_on_different_containers_never_see_a_locked_database(md):
    names = [f"db{i}" for i in range(12)]

    def life(name: str) -> list[str]:
        errors = []
        for args in (["run", "-d", "--name", name, "busybox", "top"], ["ps", "-a"],
                     ["inspect", name], ["rm", "-f", name]):
            r = md(*args, timeout=120)
            if r.code != 0 or "locked" in r.err:
                errors.append(f"{args}: {r.err}")
        return errors

    with ThreadPoolExecutor(max_workers=12) as pool:
        errors = [e for errs in pool.map(life, names) for e in errs]
    assert errors == []
