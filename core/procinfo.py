"""Who a process really is: (pid, start time, boot id).

A pid alone is reused by the kernel; the start time in /proc/PID/stat (clock ticks
since boot) and the boot id together name one process for all time.
"""

from __future__ import annotations

import os
import select

BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"


def boot_id() -> str:
    # Tests simulate a reboot by pointing this at a file of their own.
    with open(os.environ.get("MYDOCKER_BOOT_ID_FILE") or BOOT_ID_FILE) as f:
        return f.read().strip()


def start_time(pid: int, zombie: bool = False) -> int | None:
    """Field 22 of /proc/PID/stat, or None when there is no such process (nor, unless
    `zombie`, when it has finished running and waits to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:  # gone (ENOENT, ESRCH), or a pid namespace that hides it
        return None
    # comm (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(b")") + 2 :].split()
    if fields[0] == b"Z" and not zombie:
        return None  # a zombie has finished running
    return int(fields[19])


def is_same_process(pid: int | None, started: int | None) -> bool:
    """Is this (pid, start time) a live process? A zombie counts as dead: a killed
    restart sleeper whose parent has gone may stay one for long (an init that reaps late)."""
    if not pid or started is None:
        return False
    return start_time(pid) == started


def wait_exit(pid: int, timeout: float | None) -> bool:
    """Block until pid exits (without being its parent); True if it did."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)
