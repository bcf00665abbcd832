"""Running a process inside a running container (`exec`), runc's setns way.

The caller opens /proc/<init>/ns/* first and checks the init's start time after
opening, so the fds pin the namespaces of the right process even if the pid is
reused a moment later. Then:

  caller  -- fork -->  helper: joins the cgroups, setns() ipc, uts, net, pid, mnt
                       (after mnt its root and cwd are the container's), opens a
                       pty on the container's devpts if asked, forks again, since
                       only children enter a pid namespace
          helper -- fork --> child: pid N inside the container; user, workdir,
                       env, stdio; exec
The helper waits for the child and exits with its status; a close-on-exec pipe
carries why the child could not exec (docker's 126/127). The caller keeps the
host's view (and its database) throughout, and relays its terminal to the
pty's master, which the helper sends it over a socket. The child's last steps
are core.finalize's, the same as the container's init.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from mydocker.core import cgroups, finalize, procinfo, security
from mydocker.core import syscalls as sc
from mydocker.core.ptyrelay import DetachKeys, copy_winsize, raw_mode, read_all, receive_master, send_master, write_all
from mydocker.core.users import SetupError, lookup_groups, lookup_user

ExecError = SetupError  # an exec that could not run: docker's exit code and words


@dataclass
class ExecSpec:
    argv: list[str]
    env: list[str]
    workdir: str = "/"
    user: str = ""  # uid[:gid] or name[:group], looked up in the container's /etc
    tty: bool = False
    interactive: bool = False
    cgroups: dict[str, str] = field(default_factory=dict)
    security: dict[str, Any] = field(default_factory=dict)  # the container's core.security.Profile
    group_add: list[str] = field(default_factory=list)  # the container's --group-add, as docker's exec
    detach_keys: bytes = b""  # with a tty and stdin: typed, they leave the command running (exec -it)


@dataclass
class ExecResult:
    exit_code: int
    message: str = ""  # why the command did not run, when it did not
    detached: bool = False  # the user typed the detach keys: a process of ours waits on in the background


def open_namespaces(pid: int, pid_start: int, names: Iterable[str] = sc.NAMESPACE_TYPES) -> dict[str, int]:
    """fds of the process's namespaces; ExecError if it is not (still) that process."""
    fds: dict[str, int] = {}
    try:
        for name in names:
            fds[name] = os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        close_all(fds)
        raise ExecError(1, "is not running") from None
    if not procinfo.is_same_process(pid, pid_start):
        close_all(fds)
        raise ExecError(1, "is not running")
    return fds


def open_namespace(pid: int, pid_start: int, name: str) -> int:
    """fd of one namespace of the process (another container joining it)."""
    fds = open_namespaces(pid, pid_start, (name,))
    return fds[name]


def close_all(fds: dict[str, int]) -> None:
    for fd in fds.values():
        os.close(fd)


def run(spec: ExecSpec, namespaces: dict[str, int],
        on_started: Callable[[ExecResult | None], None] | None = None,
        on_detached_exit: Callable[[ExecResult], None] | None = None) -> ExecResult:
    """Run spec in the namespaces; blocks until it exits. Uses our stdio.
    on_started hears, once the command exec'd (None) or failed to, before the wait.
    If the user types the detach keys, a background process of ours waits on
    (on_detached_exit hears how the command ended) and run returns at once, detached."""
    security.preload(security.Profile.from_dict(spec.security))  # while the host's / is ours
    error_r, error_w = os.pipe2(os.O_CLOEXEC)
    # the helper's exit status for whoever waits after a detach (not its parent then)
    status_r, status_w = os.pipe2(os.O_CLOEXEC)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    helper = os.fork()
    if helper == 0:
        ours.close()
        os.close(error_r)
        os.close(status_r)
        _helper(spec, namespaces, error_w, theirs, status_w)
    theirs.close()
    os.close(error_w)
    os.close(status_w)
    close_all(namespaces)
    if spec.tty:
        master = receive_master(ours, size=True)
    else:
        master = -1
        ours.close()
    # Before the pump: the command writes nothing before its exec, and exec -d -t
    # hears that it started while its pty is drained.
    failure = read_all(error_r)
    if on_started is not None:
        on_started(_failure_result(failure) if failure else None)
    if master >= 0:
        if _pump_tty(master, spec.interactive, helper, spec.detach_keys):
            return _detach(master, status_r, failure, on_detached_exit)
    else:
        _ignore_terminal_signals(helper)
    os.close(status_r)
    _, status = os.waitpid(helper, 0)
    code = os.waitstatus_to_exitcode(status)
    code = code if code >= 0 else 128 - code
    return _failure_result(failure) if failure else ExecResult(code)


def _detach(master: int, status_r: int, failure: bytes,
            on_exit: Callable[[ExecResult], None] | None) -> ExecResult:
    """The detach keys were typed: a session of ours drains the pty (the output is
    discarded, as docker's) until the command ends, and tells on_exit; we return."""
    if os.fork() == 0:
        code = 0
        try:
            os.setsid()
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.close(null)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGWINCH):
                signal.signal(sig, signal.SIG_DFL)
            while True:
                try:
                    if not os.read(master, 65536):
                        break
                except OSError:  # EIO: the last slave closed
                    break
            status = read_all(status_r)
            # nothing from the helper: it was killed with the container (docker's 137)
            result = _failure_result(failure) if failure else ExecResult(int(status) if status else 137)
            if on_exit is not None:
                on_exit(result)
        except BaseException:  # noqa: BLE001 - a forked child must never unwind into the caller
            code = 1
        os._exit(code)
    os.close(master)
    os.close(status_r)
    return ExecResult(1, detached=True)


def _failure_result(failure: bytes) -> ExecResult:
    detail = json.loads(failure)
    return ExecResult(detail["code"], detail["message"])


def _helper(spec: ExecSpec, namespaces: dict[str, int], error_w: int, sock: socket.socket,
            status_w: int) -> NoReturn:
    code = 125
    try:
        if spec.tty and spec.interactive:
            # the user's keys reach the command through its pty (raw mode), and a
            # detached command must outlive our terminal's SIGHUP: out of its session
            os.setsid()
        # The cgroups first: their paths are host paths, gone after setns(mnt).
        # The child inherits them, so its memory and pids count as the container's.
        cgroups.add_process(spec.cgroups, os.getpid())
        for name, nstype in sc.NAMESPACE_TYPES.items():
            sc.setns(namespaces[name], nstype)
            os.close(namespaces[name])
        os.chdir("/")
        slave = -1
        if spec.tty:
            master, slave = finalize.open_container_pty()
            send_master(sock, master)
        else:
            sock.close()
        child = os.fork()
        if child == 0:
            os.close(status_w)
            _child(spec, error_w, slave)
        if slave >= 0:
            os.close(slave)
        os.close(error_w)
        # Signals meant for the command (^C without a tty, kill of exec) go to it.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(sig, lambda signum, _f: _forward(child, signum))
        while True:
            try:
                _, status = os.waitpid(child, 0)
                break
            except InterruptedError:
                continue
        code = os.waitstatus_to_exitcode(status)
        code = code if code >= 0 else 128 - code
    except BaseException as exc:  # noqa: BLE001 - a forked child must never unwind into the caller
        finalize.fail(error_w, 126 if isinstance(exc, ExecError) else 125, f"exec: {exc}")
    try:
        os.write(status_w, str(code).encode())
    finally:
        os._exit(code)


def _forward(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _child(spec: ExecSpec, error_w: int, slave: int) -> NoReturn:
    try:
        uid, gid, groups = lookup_user(spec.user)
        if spec.group_add:
            groups = sorted({*groups, *lookup_groups(spec.group_add)})
        try:
            os.chdir(spec.workdir)
        except OSError as exc:
            raise ExecError(126, f"chdir to cwd ({spec.workdir!r}) failed: {exc.strerror}") from exc
        if slave >= 0:
            finalize.take_terminal(slave, uid)
        elif not spec.interactive:
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
        finalize.close_fds(error_w)
        finalize.reset_signals()
        # The container's own limits hold for what is exec'd into it too.
        finalize.exec_command(spec.argv, spec.env, security.Profile.from_dict(spec.security), uid, gid, groups)
    except ExecError as exc:
        finalize.fail(error_w, exc.code, str(exc))
    except BaseException as exc:  # noqa: BLE001
        finalize.fail(error_w, 126, f"exec: {exc}")


def _ignore_terminal_signals(helper: int) -> None:
    """^C at our terminal reaches the command directly (same process group);
    a signal sent to us alone is passed on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _f: _forward(helper, signum))


def _pump_tty(master: int, interactive: bool, helper: int, detach_keys: bytes = b"") -> bool:
    """Our terminal <-> the container's pty until the command's side closes;
    True (master left open) when the user typed the detach keys."""
    signal.signal(signal.SIGWINCH, lambda *_: copy_winsize(master))
    _ignore_terminal_signals(helper)
    stdin_open = interactive
    keys = DetachKeys(detach_keys)
    detached = False
    try:
        with raw_mode(interactive):
            while True:
                watch = [master] + ([0] if stdin_open else [])
                try:
                    ready, _, _ = select.select(watch, [], [])
                except InterruptedError:
                    continue
                if 0 in ready:
                    data = os.read(0, 65536)
                    if not data:
                        stdin_open = False
                        data = b"\x04"  # end of input reads as ^D at the shell
                    else:
                        data, detached = keys.feed(data)
                    write_all(master, data)
                    if detached:
                        return True
                if master in ready:
                    try:
                        data = os.read(master, 65536)
                    except OSError:  # EIO: the last slave closed
                        data = b""
                    if not data:
                        break
                    write_all(1, data)
    finally:
        if not detached:
            os.close(master)
    return False
