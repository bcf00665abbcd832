"""pause / unpause / restart on the real kernel, and what every other command
may do to a paused container (docker 20.10's answers)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _freezer_state(md, ref: str) -> str:
    cgroups = md.inspect(ref)["Mydocker"]["Cgroups"]
    if "freezer" in cgroups:
        return Path(cgroups["freezer"], "freezer.state").read_text().strip()
    events = Path(cgroups["unified"], "cgroup.events").read_text()
    return "FROZEN" if "frozen 1" in events.splitlines() else "THAWED"


def _until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_pause_freezes_and_every_command_answers_as_docker(md):
    cid = md.ok("run", "-d", "--name", "frozen1", "--network", "none", "busybox", "sleep", "1000").strip()
    md.ok("pause", "frozen1")
    assert _freezer_state(md, "frozen1") == "FROZEN"
    state = md.inspect("frozen1")["State"]
    assert (state["Status"], state["Running"], state["Paused"]) == ("paused", True, True)
    assert "(Paused)" in md.ok("ps", "--format", "{{.Status}}")
    assert md.ok("ps", "-q") .split() == [cid[:12]], "ps without -a lists paused containers, as docker"

    before = md.events(cid)
    refusals = {
        ("pause", "frozen1"): f"Container {cid} is already paused",
        ("exec", "frozen1", "true"): "Container frozen1 is paused, unpause the container before exec",
        ("start", "frozen1"): "cannot start a paused container, try unpause instead",
        ("rm", "frozen1"): f"You cannot remove a paused container {cid}. Unpause and then stop",
    }
    for argv, words in refusals.items():
        result = md(*argv)
        assert result.code == 1, argv
        assert words in result.err and result.err.count("\n") == 1, (argv, result.err)
    assert md.events(cid) == before, "refusals change nothing"

    md.ok("unpause", "frozen1")
    assert _freezer_state(md, "frozen1") == "THAWED"
    refused = md("unpause", "frozen1")
    assert refused.code == 1 and f"Container {cid} is not paused" in refused.err
    assert md.events(cid)[-2:] == ["pause", "unpause"]
    assert md.ok("exec", "frozen1", "echo", "alive").strip() == "alive"
    md.ok("rm", "-f", "frozen1")
    assert md.ok("replay", "--check").strip() == "projections match the log"


def test_paused_container_can_be_stopped_killed_and_force_removed(md):
    md.ok("run", "-d", "--name", "p-stop", "--network", "none", "busybox", "sleep", "1000")
    md.ok("pause", "p-stop")
    md.ok("stop", "-t", "1", "p-stop")
    state = md.inspect("p-stop")["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137 and state["Paused"] is False

    pause_stopped = md("pause", "p-stop")
    assert pause_stopped.code == 1 and "is not running" in pause_stopped.err

    # docker: a signal to a paused container is delivered and the container resumes
    md.ok("run", "-d", "--name", "p-kill", "--network", "none", "busybox", "sh", "-c",
          "trap 'echo got > /tmp/hup' HUP; touch /tmp/trapped; while :; do sleep 0.1; done")
    # sh installs its trap before the signal is sent (a loaded machine may take a while)
    assert _until(lambda: md("exec", "p-kill", "test", "-e", "/tmp/trapped").code == 0, timeout=60)
    md.ok("pause", "p-kill")
    md.ok("kill", "-s", "HUP", "p-kill")
    assert md.inspect("p-kill")["State"]["Status"] == "running"
    assert _until(lambda: md("exec", "p-kill", "cat", "/tmp/hup").out.strip() == "got")

    pid = md.inspect("p-kill")["State"]["Pid"]
    md.ok("pause", "p-kill")
    md.ok("rm", "-f", "p-kill")
    assert not os.path.exists(f"/proc/{pid}/cmdline") or open(f"/proc/{pid}/cmdline").read() == ""
    md.ok("rm", "p-stop")
    assert md.ok("replay", "--check").strip() == "projections match the log"


def test_restart_gives_a_new_process_and_records_restart(md):
    cid = md.ok("run", "-d", "--name", "again", "--network", "none", "busybox", "sleep", "1000").strip()
    first = md.inspect("again")["State"]["Pid"]
    assert md.ok("restart", "-t", "1", "again").strip() == "again"
    state = md.inspect("again")["State"]
    assert state["Running"] is True and state["Pid"] not in (0, first)
    assert md.events(cid)[-5:] == ["kill", "die", "stop", "start", "restart"]

    md.ok("pause", "again")
    md.ok("restart", "-t", "0", "again")
    assert md.inspect("again")["State"]["Status"] == "running"

    md.ok("stop", "-t", "0", "again")
    md.ok("restart", "again")  # a stopped container is started
    assert md.inspect("again")["State"]["Running"] is True

    bad = md("restart", "-t", "soon", "again")
    assert bad.code == 125 and bad.err.startswith("Error:") and bad.err.count("\n") == 1
    missing = md("restart", "nosuch")
    assert missing.code == 1 and "No such container: nosuch" in missing.err
    md.ok("rm", "-f", "again")


def test_attach_streams_output_proxies_signals_and_returns_the_exit_code(md):
    import signal
    import subprocess

    from tests.integration.conftest import MYDOCKER

    md.ok("run", "-d", "--name", "attached", "--network", "none", "busybox", "sh", "-c",
          "trap 'echo caught; echo bye >&2; exit 7' TERM; i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done")
    proc = subprocess.Popen([MYDOCKER, "--root", str(md.root), "attach", "attached"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **md.env})
    try:
        first = proc.stdout.readline()  # attach is following: its signal handlers are in place
        assert first.startswith("tick ")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 7, (out, err)
    assert out.rstrip().endswith("caught") and err == "bye\n"
    assert md.inspect("attached")["State"]["ExitCode"] == 7
    stopped = md("attach", "attached")
    assert stopped.code == 1 and "You cannot attach to a stopped container, start it first" in stopped.err
    md.ok("rm", "attached")
