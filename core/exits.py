"""How a container ended: its wait status and the OOM flag read into an Exited,
then its cgroups released.

The forked monitor does this when it waited itself; for a detached container the
exit command core.waiter hands over to does it, and imports only this (not the
monitor with the init, rootfs and security code) to record `die` sooner.

The waiter also publishes the status it reaped (STATUS_FILE in the container's
directory) before it execs that exit command, whose fresh interpreter takes
~60-110 ms to start: a `stop` or `rm -f` waiting for the exit reads the status
there (published_status) and records `die` itself, with the same true status.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from mydocker.core import cgroups


@dataclass
class Exited:
    exit_code: int
    oom_killed: bool
    reason: str


def finish(status: int, failure: bytes, cgroup_paths: dict[str, str]) -> Exited:
    """What the container's end was (the OOM flag is read before the cgroups go),
    then release its cgroups."""
    exited = exit_info(status, failure, cgroup_paths)
    release_cgroups(cgroup_paths)
    return exited


def exit_info(status: int, failure: bytes, cgroup_paths: dict[str, str]) -> Exited:
    code = os.waitstatus_to_exitcode(status)
    oom = cgroups.oom_killed(cgroup_paths)
    if failure:
        detail = json.loads(failure)
        return Exited(detail["code"], False, f"start failed: {detail['message']}")
    if code < 0:
        sig = -code
        reason = "oom" if oom and sig == signal.SIGKILL else f"killed by signal {sig}"
        return Exited(128 + sig, oom, reason)
    return Exited(code, oom, "exited")


def release_cgroups(paths: dict[str, str]) -> None:
    try:
        cgroups.remove(paths)
    except cgroups.CgroupError:
        pass  # left for rm / recovery, which retry the same idempotent removal


STATUS_FILE = "exit-status"
_POLL = 0.002  # seconds between looks: the status follows the init's death by about a millisecond


def published_status(directory: str | Path, pid: int, pid_start: int) -> int | None:
    """The wait status the waiter published for this run of the container (its
    init's pid and start time), or None when there is none (yet)."""
    try:
        with open(os.path.join(directory, STATUS_FILE), "rb") as f:
            found = json.loads(f.read())
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or found.get("pid") != pid or found.get("pid_start") != pid_start:
        return None  # an earlier run's
    status = found.get("status")
    return status if isinstance(status, int) else None


def await_status(directory: str | Path, pid: int, pid_start: int, monitor_pid: int, timeout: float) -> int | None:
    """Wait until the waiter publishes this run's status, or its process (monitor,
    waiter, then exit handler: one pid) ends, or timeout passes. None if no status
    came: then only the monitor's process can say what happened."""
    import select

    try:
        fd = os.pidfd_open(monitor_pid)
    except OSError:
        return published_status(directory, pid, pid_start)
    try:
        deadline = time.monotonic() + timeout
        while True:
            status = published_status(directory, pid, pid_start)
            if status is not None:
                return status
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if select.select([fd], [], [], min(_POLL, left))[0]:
                return published_status(directory, pid, pid_start)  # it ended: maybe just after publishing
    finally:
        os.close(fd)
