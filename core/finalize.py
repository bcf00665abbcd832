"""The last steps before a container's command runs (runc's finalizeNamespace).

Shared by the container's init (core.init), exec's child (core.nsenter) and the
OCI runtime's processes (core.ociinit): all are already inside the container's
namespaces and filesystem when they get here. The first two report a failure
over a close-on-exec pipe as JSON {"code": 125|126|127, "message": ...} (EOF on
that pipe means the exec worked); the OCI runtime's, on stderr, as runc does.

Imported by the init before pivot_root: after it the host's filesystem (and
so any module not yet imported) is gone from the init's view, so everything
needed here is imported at the top.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import struct
from collections.abc import Callable
from typing import NoReturn

from mydocker.core import security
from mydocker.core import syscalls as sc
from mydocker.core.users import SetupError, with_home

_TIOCSPTLCK = 0x40045431
_TIOCGPTN = 0x80045430
_UNCATCHABLE = (signal.SIGKILL, signal.SIGSTOP)


def open_container_pty() -> tuple[int, int]:
    """(master, slave) from the devpts mounted at /dev/pts of the current root,
    so `tty` inside names a path that exists there (docker's /dev/pts/0)."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
        number = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN, struct.pack("I", 0)))[0]
        slave = os.open(f"/dev/pts/{number}", os.O_RDWR | os.O_NOCTTY)
    except BaseException:
        os.close(master)
        raise
    return master, slave


def take_terminal(slave: int, uid: int) -> None:
    """Make the pty slave our controlling terminal and stdin, stdout, stderr.
    It is handed to the user the command runs as (runc's fixStdioPermissions),
    so a non-root command can reopen its own /dev/pts/N; the group stays the
    mount's."""
    os.setsid()
    sc.set_controlling_tty(slave)
    if uid:
        os.fchown(slave, uid, -1)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)


def close_fds(keep: int) -> None:
    """Close everything above stderr but keep (the close-on-exec error pipe; 2,
    or any fd below 3, keeps nothing more)."""
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)


def reset_signals() -> None:
    """Every disposition back to SIG_DFL and nothing blocked, as docker starts a
    command. An ignored signal survives exec, and Python ignores SIGPIPE and
    SIGXFSZ; our caller may have ignored or blocked anything else."""
    settable = signal.valid_signals()
    for sig in range(1, signal.NSIG):
        if sig in _UNCATCHABLE:
            continue
        if sig in settable:
            signal.signal(sig, signal.SIG_DFL)
        else:
            sc.reset_signal(sig)  # the C library's own (glibc's 32, 33): make(1) leaves them ignored
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def exec_command(argv: list[str], env: list[str], profile: security.Profile,
                 uid: int, gid: int, groups: list[int], executable: str | None = None,
                 confine: Callable[[], None] | None = None) -> NoReturn:
    """Drop to the user and the container's limits, then exec; SetupError with
    docker's code and words if the command cannot be executed.

    executable: a path resolved already (the OCI runtime resolves before it
    reports ready), else argv[0] through PATH. confine: a last step after the
    privileges are dropped (the OCI spec's own seccomp filter, loaded last as runc
    does, so the filter need not allow the setup's calls)."""
    # HOME as runc sets it: from the container's passwd (we are past pivot_root), read
    # before dropping privileges.
    environ = with_home(dict(item.split("=", 1) for item in env if "=" in item), uid)
    security.apply(profile, uid, gid, groups)
    if confine is not None:
        confine()
    try:
        if executable is not None:
            os.execve(executable, argv, environ)
        os.execvpe(argv[0], argv, environ)
    except OSError as exc:
        raise SetupError(*exec_failure(argv[0], exc)) from exc
    raise AssertionError("unreachable")


def exec_failure(command: str, exc: OSError) -> tuple[int, str]:
    """docker's exit code and message for a command that could not be executed."""
    if exc.errno == errno.ENOENT:
        if "/" in command:
            return 127, f'exec: "{command}": stat {command}: no such file or directory'
        return 127, f'exec: "{command}": executable file not found in $PATH'
    reason = os.strerror(exc.errno or errno.EACCES).lower()
    return 126, f'exec: "{command}": {reason}'


def fail(error_w: int, code: int, message: str) -> NoReturn:
    """Tell the waiting parent why the command did not run, and exit."""
    try:
        os.write(error_w, json.dumps({"code": code, "message": message}).encode())
    finally:
        os._exit(code)
