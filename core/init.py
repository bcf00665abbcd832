"""The container's first process, from fork to exec.

It runs in the child the monitor forked after unshare(CLONE_NEWPID), so it is
PID 1 of the new pid namespace. It makes the other namespaces, tells the monitor
they exist, waits until the monitor has put it in its cgroups, builds the rootfs
and execs the command. If anything fails, the reason goes back over a
close-on-exec pipe as JSON {"code": 125|126|127, "message": ...}; EOF on that
pipe means the exec succeeded.
"""

from __future__ import annotations

import errno
import json
import os
import signal
from dataclasses import dataclass
from typing import NoReturn

from mydocker.core import rootfs, security
from mydocker.core import syscalls as sc
from mydocker.core.spec import ContainerSpec
from mydocker.core.users import SetupError, lookup_user, with_home


@dataclass
class InitPipes:
    ready_w: int  # init -> monitor: namespaces exist
    go_r: int  # monitor -> init: cgroups (and network) are ready
    error_w: int  # init -> monitor: why we did not exec (close-on-exec)
    stdin: int
    stdout: int
    stderr: int


class SetupFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def namespace_flags(spec: ContainerSpec) -> int:
    flags = sc.CLONE_NEWNS | sc.CLONE_NEWUTS | sc.CLONE_NEWIPC
    if spec.network != "host":
        flags |= sc.CLONE_NEWNET
    return flags


def run(spec: ContainerSpec, pipes: InitPipes) -> NoReturn:
    try:
        _prepare(spec, pipes)
        _exec(spec, pipes)
    except SetupFailure as exc:
        _fail(pipes.error_w, exc.code, str(exc))
    except BaseException as exc:  # noqa: BLE001 - anything here must reach the monitor, not a traceback
        _fail(pipes.error_w, 125, f"container init: {exc}")


def _prepare(spec: ContainerSpec, pipes: InitPipes) -> None:
    sc.unshare(namespace_flags(spec))
    os.write(pipes.ready_w, b"R")
    os.close(pipes.ready_w)
    if os.read(pipes.go_r, 1) != b"G":
        raise SetupFailure(125, "monitor went away before the container started")
    os.close(pipes.go_r)
    sc.sethostname(spec.hostname)
    if spec.network != "host":
        sc.interface_up("lo")
    rootfs.setup(spec)
    try:
        os.makedirs(spec.workdir, exist_ok=True)  # docker creates a missing workdir
        os.chdir(spec.workdir)
    except OSError as exc:
        raise SetupFailure(125, f"cannot enter working directory {spec.workdir}: {exc.strerror}") from exc


def _exec(spec: ContainerSpec, pipes: InitPipes) -> NoReturn:
    if spec.tty:
        os.setsid()
        sc.set_controlling_tty(pipes.stdout)
    for target, fd in ((0, pipes.stdin), (1, pipes.stdout), (2, pipes.stderr)):
        if fd != target:
            os.dup2(fd, target)
    # Nothing of the monitor's may leak into the container but the error pipe,
    # which is close-on-exec anyway.
    os.closerange(3, pipes.error_w)
    os.closerange(pipes.error_w + 1, 1 << 16)
    # Python ignores SIGPIPE (and the monitor may ignore others); an ignored
    # signal survives exec, so give the command the defaults it expects.
    for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM,
                signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGCHLD, signal.SIGWINCH):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    profile = security.Profile.from_dict(spec.security)
    uid, gid, groups = _user(spec.user)
    command_pid = os.fork() if spec.init else 0
    if command_pid:
        os.close(pipes.error_w)  # the command's exec reports through it, not us
        security.apply(profile, uid, gid, groups)
        _reap(command_pid)
    env = with_home(dict(item.split("=", 1) for item in spec.env if "=" in item), uid)
    security.apply(profile, uid, gid, groups)
    command = spec.argv[0]
    try:
        os.execvpe(command, spec.argv, env)
    except OSError as exc:
        raise SetupFailure(*exec_failure(command, exc)) from exc
    raise AssertionError("unreachable")


def _user(user: str) -> tuple[int, int, list[int]]:
    try:
        return lookup_user(user)
    except SetupError as exc:
        raise SetupFailure(exc.code, str(exc)) from None


_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
              signal.SIGWINCH)


def _reap(child: int) -> NoReturn:
    """--init: stay PID 1, pass signals on to the command, reap every orphan the
    kernel hands us (so zombies cannot pile up to the pids limit), and exit as
    the command did."""

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for sig in _FORWARDED:
        signal.signal(sig, forward)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def exec_failure(command: str, exc: OSError) -> tuple[int, str]:
    """docker's exit code and message for a command that could not be executed."""
    if exc.errno == errno.ENOENT:
        if "/" in command:
            return 127, f'exec: "{command}": stat {command}: no such file or directory'
        return 127, f'exec: "{command}": executable file not found in $PATH'
    reason = os.strerror(exc.errno or errno.EACCES).lower()
    return 126, f'exec: "{command}": {reason}'


def _fail(error_w: int, code: int, message: str) -> NoReturn:
    try:
        os.write(error_w, json.dumps({"code": code, "message": message}).encode())
    finally:
        os._exit(code)
