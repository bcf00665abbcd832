"""The wait status a detached container's waiter (core.waiter) reaped, published
for whoever waits on that exit.

The waiter execs the exit handler once its container's init has exited, and that
fresh interpreter takes ~60-110 ms to import the state machine and record `die`.
A `stop`, `rm -f` or `restart` holding the container's lock need not wait for it:
the waiter first writes the status here, in the container's directory, and the
command records `die` from it (statemachine.effects). The exit handler then finds
the die in the log and records nothing.

Stdlib only, and imported by the waiter only when the container has exited: the
waiter's resident memory is budgeted.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

STATUS_FILE = "exit-status"
_POLL = 0.002  # seconds between looks: the status follows the init's death by about a millisecond


def start_time(pid: int) -> int | None:
    """The init's start time just before the waiter reaps it: a zombie's, then."""
    from mydocker.core.procinfo import start_time as read

    return read(pid, zombie=True)


def publish(path: str, pid: int, started: int | None, status: int) -> None:
    """The reaped status, for a command waiting on this exit (await_status);
    renamed into place, so a reader sees all of it or nothing. Best effort: without
    it the reader waits for the exit handler, as before."""
    temporary = f"{path}.{os.getpid()}"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, json.dumps({"pid": pid, "pid_start": started, "status": status}).encode())
        finally:
            os.close(fd)
        os.rename(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


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
