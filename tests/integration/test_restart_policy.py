"""--restart as docker 20.10 does it (compared side by side): the monitor's exit
path hands the container to a lean sleeper that starts it again after the
backoff; a user's stop/kill/rm -f wins; `system restore` brings the policies'
containers back after a reboot. One state root for the module."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.conftest import Runtime, _checked_runtime

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def md(tmp_path_factory: pytest.TempPathFactory):
    yield from _checked_runtime(tmp_path_factory.mktemp("restart"))


def state_of(md: Runtime, name: str) -> tuple[str, int, int | None]:
    """(state, restart_count, monitor_pid) straight from the projection: no
    command runs, so polling it changes nothing."""
    with md.db() as conn:
        row = conn.execute("SELECT state, restart_count, monitor_pid FROM containers WHERE name = ?",
                           (name,)).fetchone()
    return (row[0], row[1], row[2]) if row else ("removed", 0, None)


def wait_for(md: Runtime, name: str, predicate, limit: float = 60) -> tuple[str, int, int | None]:
    deadline = time.monotonic() + limit
    while True:
        current = state_of(md, name)
        if predicate(current) or time.monotonic() > deadline:
            return current
        time.sleep(0.02)


def freeze_sleeper(md: Runtime, name: str) -> int:
    """Catch the container restarting and stop its sleeper while it still sleeps
    (not once it has become the start that takes the lock): the container then
    stays `restarting` for as long as the test needs."""
    for _ in range(20):
        state, _, pid = wait_for(md, name, lambda s: s[0] == "restarting")
        assert state == "restarting"
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"waiter.py" in cmdline and state_of(md, name)[0] == "restarting":
            return pid
        os.kill(pid, signal.SIGCONT)
        wait_for(md, name, lambda s: s[0] != "restarting")
    raise AssertionError("never caught the sleeper asleep")


def gone(pid: int) -> bool:
    for _ in range(100):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False


def die_payloads(md: Runtime, container_id: str) -> list[dict]:
    with md.db() as conn:
        return [json.loads(p) for (p,) in conn.execute(
            "SELECT payload FROM events WHERE stream_id = ? AND type = 'die' ORDER BY version", (container_id,))]


def test_on_failure_restarts_n_times_with_doubling_backoff_then_stays_exited(md):
    cid = md.ok("run", "-d", "--name", "onfail", "--network", "none", "--restart", "on-failure:2",
                "busybox", "sh", "-c", "exit 3").strip()
    final = wait_for(md, "onfail", lambda s: s[0] == "stopped" and s[1] == 2)
    assert final[:2] == ("stopped", 2)
    info = md.inspect("onfail")
    assert (info["RestartCount"], info["State"]["Status"], info["State"]["ExitCode"]) == (2, "exited", 3)
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert md.events(cid) == ["create", "start", "die", "start", "restart", "die", "start", "restart", "die"]
    restarts = [d.get("restart") for d in die_payloads(md, cid)]
    assert [(r["count"], r["delay"]) for r in restarts[:2]] == [(1, 0.1), (2, 0.2)]
    assert restarts[2] is None  # on-failure:2 counted: the third exit stays
    with md.db() as conn:
        actors = [json.loads(a)["command"] for (a,) in conn.execute(
            "SELECT actor FROM events WHERE stream_id = ? AND type = 'restart'", (cid,))]
    assert actors == ["restart policy", "restart policy"]
    assert md.ok("replay", "--check").strip() == "projections match the log"
    md.ok("rm", "onfail")


def test_a_restarting_container_shows_so_and_stop_ends_the_wait(md):
    cid = md.ok("run", "-d", "--name", "always", "--network", "none", "--restart", "always",
                "busybox", "sh", "-c", "exit 1").strip()
    sleeper = freeze_sleeper(md, "always")
    try:
        line = md.ok("ps", "--filter", "name=always", "--format", "{{.Status}}|{{.State}}").strip()
        assert line.startswith("Restarting (1) ") and line.endswith(" ago|restarting"), line
        assert md.ok("ps", "-q", "--filter", "status=restarting").split() == [cid[:12]]
        state = md.inspect("always")["State"]
        assert (state["Status"], state["Running"], state["Restarting"], state["Pid"]) == ("restarting", True, True, 0)
        refused = md("exec", "always", "true")
        assert refused.code == 1
        assert refused.err.strip() == f"Error: Container {cid} is restarting, wait until the container is running"
        refused = md("rm", "always")
        assert refused.code == 1 and "You cannot remove a restarting container" in refused.err
        assert md.ok("stop", "always").strip() == "always"
    finally:
        os.kill(sleeper, signal.SIGCONT)  # a no-op once stop has killed it
    assert gone(sleeper), "stop leaves the sleeper alive"
    info = md.inspect("always")
    assert (info["State"]["Status"], info["State"]["ExitCode"]) == ("exited", 1)
    time.sleep(0.5)  # longer than the backoff: nothing may start it again
    assert state_of(md, "always")[0] == "stopped"
    # a user's start: docker's new restart manager, the count starts again
    md.ok("start", "always")
    sleeper = freeze_sleeper(md, "always")
    try:
        assert md.inspect("always")["RestartCount"] == 1
        md.ok("rm", "-f", "always")
    finally:
        os.kill(sleeper, signal.SIGCONT)
    assert gone(sleeper), "rm -f leaves the sleeper alive"


def test_recovery_ends_a_wait_whose_sleeper_is_gone(md):
    md.ok("run", "-d", "--name", "lost", "--network", "none", "--restart", "always", "busybox", "sh", "-c", "exit 2")
    sleeper = freeze_sleeper(md, "lost")
    os.kill(sleeper, signal.SIGKILL)
    assert gone(sleeper)
    md.ok("ps")  # every command reconciles first
    info = md.inspect("lost")
    assert (info["State"]["Status"], info["State"]["ExitCode"], info["Mydocker"]["DieReason"]) == (
        "exited", 2, "restart lost")
    assert md.ok("replay", "--check").strip() == "projections match the log"
    md.ok("rm", "lost")


def test_a_users_kill_is_not_restarted_and_update_changes_the_policy(md):
    md.ok("run", "-d", "--name", "killed", "--network", "none", "--restart", "unless-stopped", "busybox", "top")
    md.ok("kill", "killed")
    assert md.ok("wait", "killed").strip() == "137"
    time.sleep(0.5)
    assert state_of(md, "killed")[:2] == ("stopped", 0)
    md.ok("update", "--restart", "on-failure:1", "killed")
    assert md.inspect("killed")["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 1}
    bad = md("update", "--restart", "bogus", "killed")
    assert (bad.code, bad.err) == (1, "Error: invalid restart policy 'bogus'\n")
    md.ok("rm", "killed")


def test_a_command_that_cannot_start_is_not_restarted(md):
    """docker: a failed start is no exit of a running container; no restart."""
    result = md("run", "-d", "--name", "nostart", "--network", "none", "--restart", "always", "busybox", "/nonexistent")
    assert result.code == 127
    time.sleep(0.5)
    assert state_of(md, "nostart")[:2] == ("stopped", 0)
    md.ok("rm", "nostart")


@pytest.mark.parametrize(("flags", "message"), [
    (["--restart", "bogus"], "invalid restart policy 'bogus'"),
    (["--restart", "on-failure:x"], "invalid restart policy format: maximum retry count must be an integer"),
    (["--restart", "always:3"], "maximum retry count cannot be used with restart policy 'always'"),
    (["--restart", "always", "--rm"], "conflicting options: cannot specify both --restart and --rm"),
])
def test_bad_policies_are_refused_like_docker_and_nothing_is_made(md, flags, message):
    result = md("run", *flags, "busybox", "true")
    assert (result.code, result.err) == (125, f"Error: {message}\n")
    assert md.ok("ps", "-aq") == ""


def test_system_restore_starts_what_the_policies_ask_for_after_a_reboot(md, tmp_path):
    # dockerd's restore asks the restart manager: on-failure too, a reboot's 255 being a failure
    for name, policy in (("r-always", "always"), ("r-unless", "unless-stopped"), ("r-stopped", "unless-stopped"),
                         ("r-none", "no"), ("r-fail", "on-failure")):
        md.ok("run", "-d", "--name", name, "--network", "none", "--restart", policy, "busybox", "top")
    md.ok("stop", "-t", "0", "r-stopped")
    fake = tmp_path / "boot_id"
    fake.write_text("00000000-0000-0000-0000-00000000beef\n")
    rebooted = {"MYDOCKER_BOOT_ID_FILE": str(fake)}
    md.ok("ps", env=rebooted)  # recovery records the deaths first
    assert {state_of(md, n)[0] for n in ("r-always", "r-unless", "r-none", "r-fail")} == {"stopped"}
    out = md.ok("system", "restore", env=rebooted).split()
    assert out == md.ok("inspect", "-f", "{{.Id}}", "r-always", "r-unless", "r-fail", env=rebooted).split()
    assert [state_of(md, n)[0] for n in ("r-always", "r-unless", "r-stopped", "r-none", "r-fail")] == [
        "running", "running", "stopped", "stopped", "running"]
    assert md.ok("system", "restore", env=rebooted) == ""  # nothing more to do
    md.ok("rm", "-f", "r-always", "r-unless", "r-stopped", "r-none", "r-fail", env=rebooted)


def test_the_policy_still_restarts_a_container_adopted_after_its_monitor_died(md):
    """The watcher that recovery puts in the lost monitor's place records the exit
    through the same row: the policy's sleeper starts the container again."""
    cid = md.ok("run", "-d", "--name", "adopted", "--network", "none", "--restart", "on-failure:1",
                "busybox", "sleep", "300").strip()
    info = md.inspect("adopted")
    os.kill(info["Mydocker"]["MonitorPid"], signal.SIGKILL)
    assert gone(info["Mydocker"]["MonitorPid"])
    md.ok("ps")  # every command reconciles first: a watcher adopts it
    assert md.events(cid)[-1] == "adopt"
    os.kill(info["State"]["Pid"], signal.SIGKILL)
    assert wait_for(md, "adopted", lambda s: s[:2] == ("running", 1))[:2] == ("running", 1)
    deadline = time.monotonic() + 10
    while md.events(cid)[-1] != "restart" and time.monotonic() < deadline:  # logged once the new run started
        time.sleep(0.02)
    assert md.events(cid)[-4:] == ["adopt", "die", "start", "restart"]
    assert die_payloads(md, cid)[-1]["restart"]["count"] == 1
    md.ok("rm", "-f", "adopted")
