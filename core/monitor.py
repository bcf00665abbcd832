"""The monitor: one small process per running container (conmon's job).

launch() forks it. The monitor creates the cgroups, makes the pid namespace,
forks the container's init (core.init), joins it to its cgroups, lets it exec,
then stays to copy its output into the log (and to the terminal when attached),
wait for it, and report its real exit status. With a tty, the init makes the
pty in the container's own devpts and sends the master back over a socket.
What to record is not its business: the caller passes hooks (the statemachine
appends `start` and `die`).
A detached container's monitor hands that waiting over to core.waiter, a bare
interpreter in the same process, once the container runs.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mydocker.core import cgroups, init, procinfo, ptyrelay, security, waiter
from mydocker.core import syscalls as sc
from mydocker.core.crashpoints import crash
from mydocker.core.exits import Exited, finish
from mydocker.core.exits import release_cgroups as _safe_remove_cgroups
from mydocker.core.logs import LogWriter
from mydocker.core.ptyrelay import DetachKeys, copy_winsize, read_all, receive_master, write_all
from mydocker.core.spec import ContainerSpec, prepare_dirs

if TYPE_CHECKING:
    from mydocker.core import dnsserver

# File descriptors the caller opened for the hooks (statemachine.netprep's pipes to
# the network helper): kept in the monitor until the init is prepared, then closed.
inherited_fds: list[int] = []

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


@dataclass
class Started:
    pid: int
    pid_start: int
    boot_id: str
    monitor_pid: int
    monitor_start: int


class Hooks(Protocol):
    def prepare(self, pid: int) -> None:
        """Between the init's namespaces and its exec: the network goes here.
        Raising fails the start: the init is killed before it runs anything."""

    def started(self, info: Started) -> None: ...

    def exited(self, info: Exited) -> None: ...


@dataclass
class LaunchResult:
    monitor_pid: int
    started: bool
    exit_code: int | None = None  # set when the container never ran its command
    message: str = ""
    prepared: bool = True  # False: refused before it started (port taken...), nothing recorded
    # attached: readable once the user typed the detach keys (b"D") or at the monitor's end (EOF)
    detach_fd: int = -1


def launch(spec: ContainerSpec, hooks_factory: Callable[[], Hooks], attached: bool) -> LaunchResult:
    """Fork the monitor and return once the container runs its command or failed to.

    attached: the monitor keeps our stdio and copies the container's to it
    (foreground run); otherwise it detaches into its own session with none of
    our file descriptors, so `id=$(mydocker run -d ...)` returns at once.
    """
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    detach_r, detach_w = os.pipe2(os.O_CLOEXEC) if attached else (-1, -1)
    pid = os.fork()
    if pid == 0:
        code = 125
        monitor = None
        try:
            os.close(report_r)
            if detach_r >= 0:
                os.close(detach_r)
            monitor = _Monitor(spec, hooks_factory, report_w, attached, detach_w)
            code = monitor.run()
        except BaseException as exc:  # noqa: BLE001 - a forked child must never unwind into the caller
            # Only if nothing was reported yet: once reported, report_w is closed and its
            # number may already be another file's (the database's WAL, for one).
            if monitor is None or monitor.report_w >= 0:
                _report(report_w, {"started": False, "exit_code": 125, "message": f"monitor: {exc}"})
        finally:
            os._exit(code)
    os.close(report_w)
    if detach_w >= 0:
        os.close(detach_w)
    raw = read_all(report_r)
    if not raw:
        return LaunchResult(pid, False, 125, "monitor died before reporting", detach_fd=detach_r)
    msg = json.loads(raw.splitlines()[0])
    return LaunchResult(pid, msg["started"], msg.get("exit_code"), msg.get("message", ""), msg.get("prepared", True),
                        detach_r)


def _leave_terminal() -> None:
    """A session of our own with /dev/null for stdio: the caller's terminal and its
    hangup no longer reach a monitor that runs on detached."""
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def _close_inherited() -> None:
    for fd in inherited_fds:
        os.close(fd)
    inherited_fds.clear()


def _report(fd: int, message: dict[str, object]) -> None:
    try:
        os.write(fd, json.dumps(message).encode() + b"\n")
        os.close(fd)
    except OSError:
        pass


class _Monitor:
    def __init__(self, spec: ContainerSpec, hooks_factory: Callable[[], Hooks], report_w: int, attached: bool,
                 detach_w: int = -1):
        self.spec = spec
        self.detach_w = detach_w
        self.hooks_factory = hooks_factory
        self.report_w = report_w
        self.attached = attached
        self.child = 0
        self.master = -1
        self.console: socket.socket | None = None  # receives the pty's master from the init
        self.health: waiter.HealthTimer | None = None
        self.attach_listener: socket.socket | None = None
        self.dns: dict[str, object] | None = None  # the embedded DNS server's sockets (core.dnsserver)
        self.dns_server: dnsserver.Server | None = None  # serving them in this process (a foreground container)

    def _report(self, message: dict[str, object]) -> None:
        if self.report_w >= 0:
            _report(self.report_w, message)
            self.report_w = -1

    def run(self) -> int:
        self._detach_or_forward()
        spec = self.spec
        try:
            prepare_dirs(spec)
            cgroups.create(spec.cgroups, spec.limits)
        except (OSError, cgroups.CgroupError) as exc:
            _safe_remove_cgroups(spec.cgroups)
            self._report({"started": False, "exit_code": 125, "message": str(exc)})
            return 125
        crash("monitor.after-cgroups")
        # Before unshare: what preload spawns must not become the new namespace's PID 1.
        security.preload(security.Profile.from_dict(spec.security))
        if "pid" in spec.joins:  # --pid container:X: the init is born in X's pid namespace
            sc.setns(spec.joins["pid"], sc.CLONE_NEWPID)
        elif spec.pid_mode != "host":
            sc.unshare(sc.CLONE_NEWPID)
        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        go_r, go_w = os.pipe2(os.O_CLOEXEC)
        error_r, error_w = os.pipe2(os.O_CLOEXEC)
        child_ends, ours = self._stdio()
        init_console = None
        if spec.tty:
            self.console, init_console = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.child = os.fork()
        if self.child == 0:
            for fd in (ready_r, go_w, error_r, *ours):
                os.close(fd)
            if self.console is not None:
                self.console.close()
            init.run(spec, init.InitPipes(ready_w, go_r, error_w, *child_ends, console=init_console))
        # The init is the one process of its pid namespace we make; what we start
        # from now on (network tools, health probes, the exit path) belongs to ours.
        waiter.fork_here_again()
        for fd in {ready_w, go_r, error_w, *child_ends, *spec.joins.values()} - {-1}:
            os.close(fd)
        if init_console is not None:
            init_console.close()
        # Now, not at "R": the init makes its namespaces meanwhile (cgroup v1 moves a
        # task per hierarchy, a few ms), and is accounted to its cgroups from its start.
        cgroups.add_process(spec.cgroups, self.child)
        hooks = self.hooks_factory()
        warm_up = getattr(hooks, "warm_up", None)
        join = warm_up() if warm_up else None
        ready = os.read(ready_r, 1)
        if join is not None:
            join()
        if ready == b"R":
            try:
                hooks.prepare(self.child)
            except Exception as exc:  # noqa: BLE001 - any failure here must fail the start, cleanly
                return self._abort(exc, (ready_r, go_w, error_r, *ours))
            crash("monitor.before-go")
            os.write(go_w, b"G")
            open_log = getattr(hooks, "open_log", None)
            if open_log is not None:
                open_log()  # while the init pivots and execs: started() then only appends
        _close_inherited()
        os.close(ready_r)
        os.close(go_w)
        pid_start = procinfo.start_time(self.child) or 0
        if self.console is not None:
            ours = self._receive_pty()
        failure = read_all(error_r)
        hooks.started(Started(self.child, pid_start, procinfo.boot_id(), os.getpid(),
                              procinfo.start_time(os.getpid()) or 0))
        crash("monitor.after-start")
        dns = getattr(hooks, "dns", None)
        self.dns = dns() if dns else None
        if failure:
            detail = json.loads(failure)
            self._report({"started": False, "exit_code": detail["code"], "message": detail["message"]})
        else:
            if not self.attached:
                self._listen_for_attach()
            self._report({"started": True})
        if not self.attached and not failure:
            self._hand_over(ours, hooks)
        health_check = getattr(hooks, "health_check", None)
        probe = health_check() if health_check and not failure else None
        if probe:  # attached: this process runs the probes the waiter would
            self.health = waiter.HealthTimer(list(probe["command"]), float(probe["interval"]))
        if self._pump(ours):
            self._detach(ours, hooks)
            self._pump(ours)
        _, status = os.waitpid(self.child, 0)
        exited = finish(status, failure, spec.cgroups)
        hooks.exited(exited)
        return exited.exit_code

    def _hand_over(self, ours: list[int], hooks: Hooks) -> None:
        """Become the minimal waiter (core.waiter) for the rest of the container's
        life; it runs the hooks' exit command when the container exits. Returns only
        if that cannot be done: this process then waits as before."""
        exit_command = getattr(hooks, "exit_command", None)
        if exit_command is None:
            return
        idle = getattr(hooks, "idle", None)
        if idle is not None:
            idle()
        health_check = getattr(hooks, "health_check", None)
        streams = {self.master: "stdout"} if self.spec.tty else {ours[0]: "stdout", ours[1]: "stderr"}
        stdin = -1
        if self.spec.interactive:
            stdin = self.master if self.spec.tty else ours[2]  # ours[2]: the kept end of stdin's pipe
        attach = {"directory": str(self.spec.directory), "stdin": stdin,
                  "tty_master": self.master if self.spec.tty else -1, "listener": -1}
        if self.attach_listener is not None:
            attach["listener"] = self.attach_listener.fileno()
            os.set_inheritable(self.attach_listener.fileno(), True)
        waiter.hand_over(self.spec.root, self.child, str(self.spec.log_path), streams,
                         [fd for fd in ours if fd not in streams], exit_command(), attach, self.spec.log,
                         health_check() if health_check else None, self.dns)

    def _listen_for_attach(self) -> None:
        from mydocker.core import attachsock

        try:
            self.attach_listener = attachsock.listen(str(self.spec.directory))
        except OSError:
            self.attach_listener = None  # the waiter makes it then, a moment later

    def _abort(self, exc: Exception, fds: tuple[int, ...]) -> int:
        """prepare() failed: the init never runs the command and nothing is recorded
        as started; the hook has undone its own part already."""
        os.kill(self.child, signal.SIGKILL)
        os.waitpid(self.child, 0)
        _close_inherited()
        for fd in fds:
            os.close(fd)
        if self.console is not None:
            self.console.close()
        _safe_remove_cgroups(self.spec.cgroups)
        self._report({"started": False, "exit_code": 125, "message": str(exc), "prepared": False})
        return 125

    def _detach_or_forward(self) -> None:
        # The caller's lock and database fds must not live on in the monitor.
        low = 3
        for keep in sorted({self.report_w, self.detach_w, *self.spec.joins.values(), *inherited_fds} - {-1}):
            os.closerange(low, keep)
            low = keep + 1
        os.closerange(low, 1 << 16)
        if self.attached:
            for sig in FORWARDED_SIGNALS:
                signal.signal(sig, self._forward)
            signal.signal(signal.SIGWINCH, lambda *_: self._copy_winsize())
            return
        _leave_terminal()

    def _forward(self, signum: int, _frame: object) -> None:
        if self.child:
            try:
                os.kill(self.child, signum)
            except ProcessLookupError:
                pass

    def _stdio(self) -> tuple[tuple[int, int, int], list[int]]:
        """(the container's stdin, stdout, stderr), [the ends the monitor keeps].
        None of them with a tty: the init makes the pty (see _receive_pty)."""
        spec = self.spec
        if spec.tty:
            return (-1, -1, -1), []
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ours = [out_r, err_r]
        if spec.interactive and self.attached:
            stdin = os.dup(0)
        elif spec.interactive:
            # docker -di: stdin stays open with nobody writing, so `sh` keeps waiting.
            stdin, keep_open = os.pipe()
            ours.append(keep_open)
        else:
            stdin = os.open("/dev/null", os.O_RDONLY)
        return (stdin, out_w, err_w), ours

    def _receive_pty(self) -> list[int]:
        """The master of the pty the init opened on the container's devpts; none
        if the init failed before (its error pipe says why)."""
        assert self.console is not None
        self.master = receive_master(self.console, size=self.attached)
        self.console = None
        return [self.master] if self.master >= 0 else []

    def _copy_winsize(self) -> None:
        if self.attached:
            copy_winsize(self.master)

    def _detach(self, ours: list[int], hooks: Hooks) -> None:
        """The user typed the detach keys: `run` returns, the container runs on as
        a detached one (its own session, no terminal), waited for by the waiter."""
        os.write(self.detach_w, b"D")
        os.close(self.detach_w)
        self.detach_w = -1
        self.attached = False
        for sig in (*FORWARDED_SIGNALS, signal.SIGWINCH):
            signal.signal(sig, signal.SIG_DFL)
        _leave_terminal()
        self._hand_over(ours, hooks)  # returns only if it cannot: then this process pumps on

    def _pump(self, ours: list[int]) -> bool:
        """Copy output to the log (and terminal) until the container's side closes;
        True, with ours still open, when the user typed the detach keys instead."""
        log = LogWriter(self.spec.log_path, **self.spec.log)
        streams: dict[int, tuple[str, int]] = {}
        if self.spec.tty:
            if self.master >= 0:
                streams[self.master] = ("stdout", 1)
        else:
            streams[ours[0]] = ("stdout", 1)
            streams[ours[1]] = ("stderr", 2)
        readers = list(streams)
        server = self._dns_server()
        stdin_open = self.spec.tty and self.spec.interactive and self.attached
        tee = self.attached
        keys = DetachKeys(ptyrelay.detach_sequence) if self.detach_w >= 0 else None
        detached = False
        try:
            while readers:
                dns_fds = server.fds() if server is not None else []
                watch = readers + ([0] if stdin_open else []) + dns_fds
                try:
                    ready, _, _ = select.select(watch, [], [], waiter.soonest(self.health, server))
                except InterruptedError:
                    continue
                if self.health:
                    self.health.tick()
                if server is not None:
                    server.tick()
                for fd in ready:
                    if fd in dns_fds:
                        waiter.serve_dns(server, fd)
                        continue
                    if fd == 0:
                        stdin_open, detached = self._copy_stdin(keys)
                        if detached:
                            return True
                        continue
                    try:
                        data = os.read(fd, 65536)
                    except OSError:  # EIO: the pty's last slave closed
                        data = b""
                    if not data:
                        readers.remove(fd)
                        continue
                    stream, out = streams[fd]
                    log.write(stream, data)
                    if tee and (ptyrelay.attach_streams is None or stream in ptyrelay.attach_streams):
                        tee = write_all(out, data)
        finally:
            log.close()
            if not detached:
                for fd in ours:
                    os.close(fd)
        return False

    def _dns_server(self) -> dnsserver.Server | None:
        """A foreground container's DNS is served by this process (the waiter
        serves a detached one's); made once, kept if the user detaches."""
        if self.dns is not None and self.dns_server is None:
            self.dns_server = waiter.dns_server(self.dns)  # type: ignore[assignment]
        return self.dns_server

    def _copy_stdin(self, keys: DetachKeys | None) -> tuple[bool, bool]:
        """(stdin still open, the detach keys were typed)."""
        data = os.read(0, 65536)
        if not data:
            write_all(self.master, b"\x04")  # end of input reads as ^D at the shell
            return False, False
        detached = False
        if keys is not None:
            data, detached = keys.feed(data)
        write_all(self.master, data)
        return True, detached
