"""The container's first process, from fork to exec.

It runs in the child the monitor forked after unshare(CLONE_NEWPID), so it is
PID 1 of the new pid namespace. It makes the other namespaces, tells the monitor
they exist, mounts its rootfs meanwhile, waits until the monitor has put it in
its cgroups and made its network, binds the /etc files, pivots and execs the
command. With a tty it opens the pty from the container's own
devpts once the rootfs is in place and sends the master to the monitor over
the console socket. The last steps (signals, fds, user, exec) and the error
report are core.finalize's, shared with exec.
"""

from __future__ import annotations

import os
import signal
import socket
from dataclasses import dataclass
from typing import NoReturn

from mydocker.core import finalize, rootfs, security, sysctls
from mydocker.core import syscalls as sc
from mydocker.core.ptyrelay import send_master
from mydocker.core.spec import ContainerSpec
from mydocker.core.users import SetupError, lookup_groups, lookup_user


@dataclass
class InitPipes:
    ready_w: int  # init -> monitor: namespaces exist
    go_r: int  # monitor -> init: cgroups (and network) are ready
    error_w: int  # init -> monitor: why we did not exec (close-on-exec)
    stdin: int  # the three are -1 with a tty: the pty is made inside
    stdout: int
    stderr: int
    console: socket.socket | None = None  # init -> monitor: the pty's master (tty only)


class SetupFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def namespace_flags(spec: ContainerSpec) -> int:
    flags = sc.CLONE_NEWNS
    if spec.uts != "host":
        flags |= sc.CLONE_NEWUTS
    if spec.ipc != "host" and "ipc" not in spec.joins:
        flags |= sc.CLONE_NEWIPC
    if spec.network != "host" and "net" not in spec.joins:
        flags |= sc.CLONE_NEWNET
    return flags


def run(spec: ContainerSpec, pipes: InitPipes) -> NoReturn:
    try:
        _prepare(spec, pipes)
        _exec(spec, pipes)
    except (SetupFailure, SetupError) as exc:
        finalize.fail(pipes.error_w, exc.code, str(exc))
    except BaseException as exc:  # noqa: BLE001 - anything here must reach the monitor, not a traceback
        finalize.fail(pipes.error_w, 125, f"container init: {exc}")


def _prepare(spec: ContainerSpec, pipes: InitPipes) -> None:
    sc.unshare(namespace_flags(spec))
    if "ipc" in spec.joins:  # --ipc container:X
        sc.setns(spec.joins["ipc"], sc.CLONE_NEWIPC)
    if "net" in spec.joins:  # --network container:X
        sc.setns(spec.joins["net"], sc.CLONE_NEWNET)
    os.write(pipes.ready_w, b"R")
    os.close(pipes.ready_w)
    # The rootfs's mounts need nothing the monitor does between "R" and "G"
    # (cgroups, network, /etc files): made now, they overlap its work. A failure
    # is reported after "G", where it always was, so the monitor's path is the same.
    early: BaseException | None = None
    try:
        rootfs.mount_base(spec)
    except BaseException as exc:  # noqa: BLE001 - re-raised below, once the monitor said go
        early = exc
    if os.read(pipes.go_r, 1) != b"G":
        raise SetupFailure(125, "monitor went away before the container started")
    os.close(pipes.go_r)
    if early is not None:
        raise early
    if spec.cgroupns == "private":
        # now, not with the other namespaces: the monitor has put us in our
        # cgroups, so they become this namespace's root
        sc.unshare(sc.CLONE_NEWCGROUP)
    if spec.uts != "host":  # the host's names are not ours to change
        sc.sethostname(spec.hostname)
        if spec.domainname:
            sc.setdomainname(spec.domainname)
    if spec.oom_score_adj:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(spec.oom_score_adj))
    if spec.sysctls:
        try:
            sysctls.apply(spec.sysctls)
        except (OSError, ValueError) as exc:
            raise SetupFailure(125, str(exc.args[-1] if isinstance(exc, OSError) else exc)) from exc
    if spec.network != "host" and "net" not in spec.joins:  # X's lo is X's
        sc.interface_up("lo")
    rootfs.finish(spec)
    try:
        os.makedirs(spec.workdir, exist_ok=True)  # docker creates a missing workdir
        os.chdir(spec.workdir)
    except OSError as exc:
        raise SetupFailure(125, f"cannot enter working directory {spec.workdir}: {exc.strerror}") from exc


def _exec(spec: ContainerSpec, pipes: InitPipes) -> NoReturn:
    profile = security.Profile.from_dict(spec.security)
    uid, gid, groups = lookup_user(spec.user)  # the container's /etc: after pivot_root
    if spec.group_add:
        groups = sorted({*groups, *lookup_groups(spec.group_add)})
    if pipes.console is not None:
        master, slave = finalize.open_container_pty()
        send_master(pipes.console, master)
        finalize.take_terminal(slave, uid)
    else:
        for target, fd in ((0, pipes.stdin), (1, pipes.stdout), (2, pipes.stderr)):
            if fd != target:
                os.dup2(fd, target)
    # Nothing of the monitor's may leak into the container but the error pipe,
    # which is close-on-exec anyway.
    finalize.close_fds(pipes.error_w)
    finalize.reset_signals()
    command_pid = os.fork() if spec.init else 0
    if command_pid:
        os.close(pipes.error_w)  # the command's exec reports through it, not us
        security.apply(profile, uid, gid, groups)
        _reap(command_pid)
    finalize.exec_command(spec.argv, spec.env, profile, uid, gid, groups)


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
