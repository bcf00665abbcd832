"""The real side effects behind the state machine: core, the kernel mechanics."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from mydocker.core import cgroups, procinfo
from mydocker.core.crashpoints import crash
from mydocker.core.spec import ContainerSpec, container_dir
from mydocker.statemachine.context import Context
from mydocker.statemachine.queries import ContainerView

if TYPE_CHECKING:
    from mydocker.core import monitor

MONITOR_GRACE = 10.0  # seconds to let a monitor record the exit it saw


def has_network(view: ContainerView) -> bool:
    """Did this container ask for addresses (a bridge or user network)? none, host
    and container:X containers never have any to release (a joiner's interfaces
    are X's), and skip importing that code."""
    config = view.config
    mode = (config.get("network") or {}).get("mode") or config["spec"].get("network", "none")
    # an endpoint in the log counts too: a hot-plug that crashed before `network_connect` was recorded
    return mode not in ("none", "host", "container") or bool(view.row.get("endpoint"))


def spec_of(view: ContainerView) -> ContainerSpec:
    spec = ContainerSpec.from_dict(view.config["spec"])
    if view.config.get("log_config"):  # --log-driver / --log-opt, in docker's HostConfig.LogConfig shape
        from mydocker.statemachine.log_options import writer_options

        spec.log = writer_options(view.config["log_config"])
    return spec


class KernelEffects:
    def __init__(self, root: str, hooks_factory: Callable[[ContainerView], Callable[[], monitor.Hooks]],
                 before_fork: Callable[[], None], ctx: Context | None = None):
        self.root = root
        self.ctx = ctx
        self.hooks_factory = hooks_factory
        self.before_fork = before_fork
        self.sleepers: list[int] = []  # restart sleepers' stdin, held until their die is in the log

    def launch(self, view: ContainerView, attached: bool) -> monitor.LaunchResult:
        # SQLite keeps per-process state about open database files; a child that
        # inherits it cannot open the database safely. Close ours before forking.
        from mydocker.core import monitor

        spec = spec_of(view)
        if self.ctx is not None:  # --ipc/--pid/--network container:X: the donor's namespaces, opened while checked
            from mydocker.statemachine.container_refs import open_joins

            spec.joins = open_joins(self.ctx.conn, view.config["spec"])
        container_dir(self.root, view.id).mkdir(parents=True, exist_ok=True)
        try:
            with self._volumes_mounted(view):  # the devices of `volume create -o` volumes, on the host
                self.before_fork()
                return monitor.launch(spec, self.hooks_factory(view), attached)
        finally:
            for fd in spec.joins.values():
                os.close(fd)

    def _volumes_mounted(self, view: ContainerView) -> AbstractContextManager[None]:
        if self.ctx is None:
            return nullcontext()
        from mydocker.statemachine import volume_mounts

        return volume_mounts.mounted_for(self.ctx, view.config["spec"].get("mounts", []))

    def signal(self, view: ContainerView, sig: int) -> None:
        pid = view.row["pid"]
        if procinfo.is_same_process(pid, view.row["pid_start"]):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, view: ContainerView, timeout: float) -> dict[str, Any] | None:
        """SIGTERM to the container's init, SIGKILL to all of it after timeout."""
        pid = view.row["pid"]
        from mydocker.statemachine.stopping import stop_signal

        self.signal(view, stop_signal(view.config))
        cgroups.thaw(spec_of(view).cgroups)  # a paused container gets the signal once thawed, as docker's
        if procinfo.is_same_process(pid, view.row["pid_start"]) and not procinfo.wait_exit(pid, timeout):
            return self.kill(view)
        return self._await_monitor(view, killed=False)

    def kill(self, view: ContainerView) -> dict[str, Any] | None:
        spec = spec_of(view)
        self.signal(view, signal.SIGKILL)
        cgroups.kill_all(spec.cgroups)
        procinfo.wait_exit(view.row["pid"], 5.0)
        return self._await_monitor(view, killed=True)

    def _await_monitor(self, view: ContainerView, killed: bool) -> dict[str, Any]:
        """The exit to record: the true one the waiter published (core.exitstatus), or,
        when none comes, once the monitor has recorded the real exit itself, what
        to record if it could not.

        The returned die payload is appended only if the log does not show the
        container stopped by then (whoever records first wins, with the true
        status unless the monitor was lost): the exit handler the waiter execs
        finds this die in the log and records nothing."""
        from dataclasses import asdict

        from mydocker.core import exits, exitstatus

        mpid = view.row["monitor_pid"]
        if procinfo.is_same_process(mpid, view.row["monitor_start"]):
            # A detached container's waiter publishes the status it reaped before it
            # execs the exit handler, a fresh interpreter ~100 ms from recording;
            # a foreground or adopted container's monitor has none to publish.
            status = exitstatus.await_status(container_dir(self.root, view.id), view.row["pid"],
                                             view.row["pid_start"], mpid, MONITOR_GRACE)
            if status is not None:
                return asdict(exits.exit_info(status, b"", spec_of(view).cgroups))
        if self.ctx is not None and has_network(view) and not procinfo.is_same_process(mpid, view.row["monitor_start"]):
            from mydocker.statemachine import networks

            # The monitor undoes its own run's network; if it died first, we do it.
            networks.disconnect(self.ctx, view.id, only_pid=view.row["pid"])
        return {
            "exit_code": 137 if killed else 255,
            "oom_killed": False,
            "reason": "monitor lost",
        }

    def freeze(self, view: ContainerView) -> None:
        from mydocker.statemachine.errors import UserError

        try:
            frozen = cgroups.freeze(spec_of(view).cgroups)
        except cgroups.CgroupError as exc:
            raise UserError(f"Cannot pause container {view.id}: {exc}") from None
        if not frozen:
            raise UserError(f"Cannot pause container {view.id}: this host has no freezer cgroup")

    def thaw(self, view: ContainerView) -> None:
        cgroups.thaw(spec_of(view).cgroups)

    def update(self, view: ContainerView, limits: dict[str, Any]) -> None:
        from mydocker.statemachine.errors import UserError

        try:
            cgroups.update(spec_of(view).cgroups, cgroups.Limits(**limits))
        except cgroups.CgroupError as exc:
            raise UserError(f"Cannot update container {view.id}: {exc}") from None

    def adopt(self, view: ContainerView) -> tuple[int, int]:
        """A stand-in monitor for an orphaned container (see statemachine.watcher):
        its (pid, start time).

        A fresh interpreter, not a fork: SQLite's per-process state about open
        database files must not be inherited by a process that opens the database."""
        import subprocess
        import sys

        pid, pid_start = view.row["pid"], view.row["pid_start"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "mydocker.statemachine.watcher", self.root, view.id, str(pid), str(pid_start)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True, cwd="/",
            env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))},
        )
        return proc.pid, procinfo.start_time(proc.pid) or 0

    def schedule_restart(self, view: ContainerView, delay: float) -> tuple[int, int]:
        """A lean sleeper (core.waiter) that starts the container again after delay
        seconds; it waits for let_sleepers_go() first, so it never wakes before the
        log names it. Its (pid, start time)."""
        from mydocker.core import waiter

        command = [sys.executable, "-m", "mydocker.statemachine.container_restart", self.root, view.id]
        pid, go = waiter.spawn_sleeper(self.root, delay, command)
        self.sleepers.append(go)
        return pid, procinfo.start_time(pid) or 0

    def let_sleepers_go(self) -> None:
        for go in self.sleepers:
            os.close(go)
        self.sleepers = []

    def cancel_restart(self, view: ContainerView) -> None:
        """The wait ends: its sleeper goes (idempotent)."""
        mpid = view.row["monitor_pid"]
        if procinfo.is_same_process(mpid, view.row["monitor_start"]):
            try:
                os.kill(mpid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def release(self, view: ContainerView) -> None:
        """What a dead container no longer needs from the kernel (idempotent)."""
        cgroups.remove(spec_of(view).cgroups)
        if self.ctx is not None:
            from mydocker.statemachine import volume_mounts

            volume_mounts.release(self.ctx, view.id, view.config["spec"].get("mounts", []))
        if self.ctx is not None and has_network(view):
            from mydocker.statemachine import networks

            networks.disconnect(self.ctx, view.id)  # veth, rules, addresses: whatever is left

    def connect_network(self, view: ContainerView, network: dict[str, Any]) -> None:
        """Hot-plug: an endpoint in the live init's netns (the caller refreshes /etc/hosts
        once the aliases are recorded)."""
        from mydocker.statemachine import networks

        assert self.ctx is not None
        networks.connect(self.ctx, view.id, network, view.row["pid"])

    def disconnect_network(self, view: ContainerView, network_id: str | None = None) -> None:
        assert self.ctx is not None
        from mydocker.statemachine import networks

        networks.disconnect(self.ctx, view.id, network_id=network_id)

    def teardown(self, view: ContainerView) -> None:
        """Idempotent: what is already gone counts as removed."""
        self.release(view)
        crash("rm.after-release")
        shutil.rmtree(container_dir(self.root, view.id), ignore_errors=True)
