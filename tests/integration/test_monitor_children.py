"""What the monitor forks after the container's init belongs to the host's PID
namespace, not the container's: once the container's PID 1 has exited, that
namespace takes no new process (fork fails with ENOMEM), and the exit hook's
iptables calls must still run."""

from __future__ import annotations

import subprocess
import time

from tests.integration.conftest import free_host_port


def _rules_for(port: int) -> list[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if f"--dport {port} " in line]


def test_foreground_run_with_a_published_port_tears_down_at_exit(md):
    # This used to fail the exit hook's fork, and the monitor then wrote its error
    # report into a closed pipe's number, by then the database's WAL: the log was corrupt.
    port = free_host_port()
    md.ok("run", "--name", "fg", "-p", f"{port}:80", "busybox", "true")
    info = md.inspect("fg")
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 0
    assert md.events(info["Id"])[-2:] == ["die", "disconnect"], "the port and address released at exit"
    assert _rules_for(port) == []
    assert "projections match the log" in md.ok("replay", "--check")
    md.ok("rm", "fg")


def test_detached_container_releases_its_port_when_it_exits(md):
    port = free_host_port()
    md.ok("run", "-d", "--name", "bg", "-p", f"{port}:80", "busybox", "true")
    assert md.ok("wait", "bg").strip() == "0"
    info = md.inspect("bg")
    deadline = time.monotonic() + 10  # wait returns at `die`; the teardown follows it
    while md.events(info["Id"])[-1] != "disconnect" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert md.events(info["Id"])[-2:] == ["die", "disconnect"]
    assert _rules_for(port) == []
    md.ok("rm", "bg")
