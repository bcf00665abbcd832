"""`stop`, `rm -f` and `restart` of a detached container record its `die` from the
status the waiter published when it reaped the init (core.exits.await_status),
not after the exit handler's fresh interpreter has started and recorded it; that
handler then finds the die in the log and records nothing. One runtime for the
module: each test names its own containers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from mydocker.core import procinfo

from tests.integration.conftest import _checked_runtime

# sh as the container's command: TERM is trapped, so the exit code (7) is the
# container's own, neither the 143 of a plain SIGTERM nor a lost monitor's 255/137.
TRAPPED = 'trap "echo bye; exit 7" TERM; echo hi; while true; do sleep 0.1; done'


@pytest.fixture(scope="module")
def md(tmp_path_factory: pytest.TempPathFactory):
    yield from _checked_runtime(tmp_path_factory.mktemp("stopwait"))


def _until(predicate, what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit  # a bound on a hang, not a speed check
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def dies(md, cid: str) -> list[tuple[int, str, str]]:
    """(exit code, reason, command that recorded it) of every die in the stream."""
    with md.db() as conn:
        return [tuple(r) for r in conn.execute(
            "SELECT json_extract(payload, '$.exit_code'), json_extract(payload, '$.reason'),"
            " json_extract(actor, '$.command') FROM events WHERE stream_id = ? AND type = 'die' ORDER BY version",
            (cid,))]


def started(md, name: str, *args: str, env: dict | None = None) -> tuple[str, dict]:
    """run -d; its id and inspect once its monitor has become the waiter."""
    cid = md.ok("run", "-d", "--network", "none", "--name", name, *args, env=env).strip()
    info = md.inspect(name)
    monitor = info["Mydocker"]["MonitorPid"]
    _until(lambda: b"waiter.py" in open(f"/proc/{monitor}/cmdline", "rb").read(), "the monitor never became the waiter")
    return cid, info


def exit_handler_done(info: dict) -> None:
    """The monitor's pid runs the waiter, then the exit handler: wait until it is gone."""
    monitor = info["Mydocker"]["MonitorPid"]
    start = procinfo.start_time(monitor)
    _until(lambda: not procinfo.is_same_process(monitor, start), "the exit handler never finished")


def exit_handler_by_hand(md, cid: str, pid: int, status: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mydocker.statemachine.container_exit", str(md.root), cid, str(pid),
                           str(status)], capture_output=True, text=True, timeout=120)


def test_stop_records_the_published_exit_and_the_exit_handler_adds_nothing(md):
    cid, info = started(md, "sw-trap", "busybox", "sh", "-c", TRAPPED)
    _until(lambda: md.ok("logs", "sw-trap") == "hi\n", "the trap was never set")
    md.ok("stop", "-t", "20", "sw-trap")
    assert dies(md, cid) == [(7, "exited", "stop -t 20 sw-trap")], "recorded by stop, with the true exit code"
    assert md.ok("logs", "sw-trap") == "hi\nbye\n", "the waiter drained the output before it published"
    exit_handler_done(info)
    assert md.events(cid)[-3:] == ["kill", "die", "stop"], "the exit handler recorded nothing"
    state = md.inspect("sw-trap")["State"]
    assert (state["Status"], state["ExitCode"], state["OOMKilled"]) == ("exited", 7, False)

    # run again by hand, as the waiter would: the die is there, nothing to add or release
    before = md.events(cid)
    done = exit_handler_by_hand(md, cid, info["State"]["Pid"], 7 << 8)
    assert (done.returncode, done.stderr) == (7, "")
    assert md.events(cid) == before
    md.ok("rm", "sw-trap")


def test_rm_force_records_the_published_exit_before_destroying(md):
    cid, info = started(md, "sw-top", "busybox", "top")
    md.ok("rm", "-f", "sw-top")
    assert dies(md, cid) == [(137, "killed by signal 9", "rm -f sw-top")]
    exit_handler_done(info)
    assert md.events(cid)[-4:] == ["kill", "die", "destroying", "destroy"]
    done = exit_handler_by_hand(md, cid, info["State"]["Pid"], signal.SIGKILL)
    assert (done.returncode, done.stderr) == (0, ""), "a removed container: nothing to do"
    assert md.events(cid)[-1] == "destroy"


def test_the_old_runs_exit_handler_leaves_a_restarted_container_alone(md):
    """restart no longer waits for the first run's exit handler, which may run after
    the second run has made the same cgroups again: it must neither record nor
    release anything of that run."""
    cid, info = started(md, "sw-again", "busybox", "top")
    md.ok("restart", "-t", "1", "sw-again")
    exit_handler_done(info)
    second = md.inspect("sw-again")
    assert second["State"]["Status"] == "running" and second["State"]["Pid"] != info["State"]["Pid"]
    before = md.events(cid)
    done = exit_handler_by_hand(md, cid, info["State"]["Pid"], signal.SIGKILL)
    assert done.stderr == ""
    assert md.events(cid) == before
    pid = second["State"]["Pid"]
    assert procinfo.is_same_process(pid, procinfo.start_time(pid)), "the second run was killed"
    assert md.inspect("sw-again")["State"]["Status"] == "running"
    assert [d[2] for d in dies(md, cid)] == ["restart -t 1 sw-again"]
    md.ok("rm", "-f", "sw-again")


def test_stop_has_the_true_exit_though_the_exit_handler_dies_before_recording(md):
    # the run's environment is its monitor's, then its waiter's and its exit handler's
    cid, info = started(md, "sw-crash", "busybox", "sh", "-c", TRAPPED, env={"MYDOCKER_CRASH_AT": "monitor.before-die"})
    _until(lambda: md.ok("logs", "sw-crash") == "hi\n", "the trap was never set")
    md.ok("stop", "-t", "20", "sw-crash")
    exit_handler_done(info)
    assert dies(md, cid) == [(7, "exited", "stop -t 20 sw-crash")], "not `monitor lost`: the waiter had published"
    md.ok("rm", "sw-crash")


def test_stop_after_the_waiter_was_killed_still_records_one_die(md):
    # sleep, not top: nothing reads the output of a container whose waiter is gone
    cid, info = started(md, "sw-orphan", "busybox", "sleep", "300")
    os.kill(info["Mydocker"]["MonitorPid"], signal.SIGKILL)  # nobody publishes this run's exit
    md.ok("stop", "-t", "1", "sw-orphan")
    assert md.inspect("sw-orphan")["State"]["Status"] == "exited"
    assert len(dies(md, cid)) == 1
    md.ok("rm", "sw-orphan")


def test_stop_of_a_restart_policy_container_does_not_restart_it(md):
    cid, info = started(md, "sw-always", "--restart", "always", "busybox", "top")
    md.ok("stop", "-t", "1", "sw-always")
    exit_handler_done(info)
    state = md.inspect("sw-always")
    assert (state["State"]["Status"], state["RestartCount"]) == ("exited", 0)
    assert [d[2] for d in dies(md, cid)] == ["stop -t 1 sw-always"]
    md.ok("rm", "sw-always")


def test_stop_of_an_autoremove_container_leaves_the_removal_to_its_exit_handler(md):
    cid, info = started(md, "sw-rm", "--rm", "busybox", "top")
    md.ok("stop", "-t", "1", "sw-rm")
    exit_handler_done(info)
    assert md("inspect", "sw-rm").code == 1, "--rm: removed once stopped"
    assert md.events(cid)[-5:] == ["kill", "die", "stop", "destroying", "destroy"]
    assert [d[2] for d in dies(md, cid)] == ["stop -t 1 sw-rm"]
