"""How a container ended: its wait status and the OOM flag read into an Exited,
then its cgroups released.

The forked monitor does this when it waited itself; for a detached container the
exit command core.waiter hands over to does it, and imports only this (not the
monitor with the init, rootfs and security code) to record `die` sooner.

The waiter also publishes the status it reaped (core.exitstatus) before it execs
that exit command, whose fresh interpreter takes ~60-110 ms to start: a `stop` or
`rm -f` waiting for the exit reads it there and records `die` itself, through
exit_info, with the same true status and OOM flag.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass

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
