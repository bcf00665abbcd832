"""What the monitor records: the network before the init execs, `start`, `die`
and the cleanup after it (statemachine.effects forks the monitor with these hooks).

Its own module so that lifecycle, reconcile and the watcher all reach the real
effects without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

from mydocker.core.crashpoints import crash
from mydocker.core.spec import container_dir
from mydocker.statemachine import aggregate, netprep, volumes
from mydocker.statemachine.context import Context
from mydocker.statemachine.effects import KernelEffects, has_network
from mydocker.statemachine.errors import NoSuchContainer, UserError
from mydocker.statemachine.queries import ContainerView
from mydocker.store.events import Event

if TYPE_CHECKING:
    from mydocker.core import monitor


def _import_netlink() -> None:
    try:
        import pyroute2  # noqa: F401 - what core.network's functions import
    except ImportError:
        pass  # prepare() imports it again and reports the error where it can


class RecordingHooks:
    """Run inside the monitor process, with a connection of its own."""

    def __init__(self, root: str, view: ContainerView) -> None:
        self.ctx = Context(root, "monitor")
        self.id = view.id
        self.view = view
        self.autoremove = bool(view.config.get("autoremove"))
        self.pid: int | None = None
        self._dns: dict[str, object] | None = None

    def warm_up(self) -> Callable[[], None] | None:
        """A bridge's veth needs pyroute2 (~100-180 ms to import) in prepare(): unless
        `run`'s network helper (statemachine.netprep) has it loaded already, import it
        on a thread while the init mounts its rootfs, which is all the overlap there is
        (a few ms: most of the import is paid before the monitor can go on). Returns the
        join the monitor calls once the init is ready, before it forks again or goes on
        (a fork during an import could leave a module lock held)."""
        config = self.view.config
        network = config.get("network") or {"mode": config["spec"].get("network", "none")}
        if network["mode"] != "bridge" or netprep.waiting():
            return None
        import threading

        thread = threading.Thread(target=_import_netlink, name="warm-up", daemon=True)
        thread.start()
        return thread.join

    def prepare(self, pid: int) -> None:
        """The container's network, while its init waits for "G": veth, address,
        routes, port rules; then /etc/hosts, resolv.conf and hostname; on a
        user-defined network, the embedded DNS server's sockets in its netns."""
        from mydocker.core import etcfiles
        from mydocker.statemachine import networks

        config = self.view.config
        spec = config["spec"]
        network = config.get("network") or {"mode": spec.get("network", "none")}
        endpoint = None
        if network["mode"] == "container":
            _share_etc_files(self.ctx, self.id, spec)
            return
        if network["mode"] == "bridge":
            self.ctx.command = "monitor connect"
            endpoint = netprep.connect_all(self.ctx, self.id, config, pid)
        try:
            joined = networks.endpoints_of(self.ctx.conn, self.id) if endpoint else []
            embedded = any(_user_defined(self.ctx, ep["network_id"]) for ep in joined)
            upstreams = etcfiles.write(container_dir(self.ctx.root, self.id), spec["hostname"],
                                       [self.id[:12], self.view.name], endpoint["ip"] if endpoint else None,
                                       own_network_stack=network["mode"] != "host", etc=config.get("etc"),
                                       domainname=spec.get("domainname", ""), embedded_dns=embedded)
            if endpoint:
                from mydocker.statemachine import name_resolution

                name_resolution.refresh_container(self.ctx, self.id)  # its --links, on any network
                for ep in joined:
                    name_resolution.refresh(self.ctx, ep["network_id"])
            if embedded:
                from mydocker.core import dnsserver

                listen, forward, tcp = dnsserver.open_sockets(pid)
                self._dns = {"listen": listen, "forward": forward, "tcp": tcp, "upstreams": upstreams,
                             "hosts": str(container_dir(self.ctx.root, self.id) / "hosts")}
        except OSError:
            if endpoint:
                networks.disconnect(self.ctx, self.id, only_pid=pid)
            raise

    def dns(self) -> dict[str, object] | None:
        """The embedded DNS server's sockets and data (core.dnsserver.Server), or
        None when the container is on no user-defined network (docker's default
        bridge has none either)."""
        return self._dns

    def open_log(self) -> None:
        """The monitor calls this once the init may go on: the database opens while the
        init pivots and execs, not after, when `start` is all `run` waits for."""
        self.ctx.conn  # noqa: B018 - opening is the point

    def started(self, info: monitor.Started) -> None:
        self.pid = info.pid
        aggregate.append(self.ctx, self.id, [Event("start", asdict(info))])

    def idle(self) -> None:
        """Nothing to write until the exit, maybe days away: the monitor calls this
        once `run` has its answer, as it hands over to the waiter, so that closing
        (SQLite checkpoints the log then) is not part of `run`'s wait. A foreground
        container's monitor keeps the connection for the `die` it writes next."""
        self.ctx.close()

    def exit_command(self) -> list[str]:
        """What the monitor, once it has become the minimal waiter, runs in its own
        process when the container exits: this class's exited() again."""
        import sys

        return [sys.executable, "-m", "mydocker.statemachine.container_exit", self.ctx.root, self.id, str(self.pid)]

    def health_check(self) -> dict[str, object] | None:
        """The probe the waiter runs every interval (statemachine.health_check)."""
        import sys

        from mydocker.statemachine import health

        check = health.effective(self.view.config)
        if check is None:
            return None
        return {"command": [sys.executable, "-m", "mydocker.statemachine.health_check", self.ctx.root, self.id],
                "interval": check["Interval"] / health.SECOND}

    def exited(self, info: monitor.Exited) -> None:
        crash("monitor.before-die")
        from mydocker.statemachine.diskspace import before_freeing

        before_freeing(self.ctx.root)  # the die (and --rm) must be recorded on a full disk too
        # pid: the die of this run only, not of a later run someone restarted meanwhile
        effects = effects_for(self.ctx)
        try:
            # restartable: this exit path may hand the container to a restart policy's sleeper,
            # unless its command never ran (docker restarts no container whose start failed)
            aggregate.transact(self.ctx, self.id, "die", effects, exit=asdict(info), pid=self.pid,
                               restartable=not info.reason.startswith("start failed"))
        except NoSuchContainer:
            pass  # removed meanwhile (rm -f): its destroy says all there is
        finally:
            effects.let_sleepers_go()
        if self.pid is not None and has_network(self.view):
            from mydocker.statemachine import networks

            # The netns died with the init and took eth0 and its veth peer along;
            # what is left is ours to undo: rules, the address, the record.
            self.ctx.command = "monitor disconnect"
            networks.disconnect(self.ctx, self.id, only_pid=self.pid)
        if self.autoremove:
            try:
                self.ctx.command = "monitor --rm"
                aggregate.locked(self.ctx, self.id, lambda agg: agg.handle("remove"), effects_for(self.ctx))
                volumes.remove_anonymous(self.ctx, self.view.config["spec"].get("mounts", []))
            except UserError:
                pass  # removed already, or restarted by someone else
        self.ctx.close()


def _share_etc_files(ctx: Context, container_id: str, spec: dict[str, object]) -> None:
    """--network container:X: X's hosts, resolv.conf and hostname, as docker's joiner
    has them. Links, which the init's bind follows at start: X's files as they are
    then, and a joiner's rm removes the links only."""
    from mydocker.core import etcfiles
    from mydocker.statemachine import queries
    from mydocker.statemachine.container_refs import network_donor

    donor = queries.find(ctx.conn, network_donor(spec) or "")
    directory = container_dir(ctx.root, container_id)
    for name in etcfiles.FILES:
        link = directory / name
        link.unlink(missing_ok=True)
        if donor is not None:  # else gone since the start opened its netns: the image's files
            link.symlink_to(container_dir(ctx.root, donor.id) / name)


def _user_defined(ctx: Context, network_id: str) -> bool:
    from mydocker.statemachine.network_views import DEFAULT_NETWORK, by_id

    view = by_id(ctx.conn, network_id)
    return view is not None and view.name != DEFAULT_NETWORK


def effects_for(ctx: Context) -> KernelEffects:
    """The kernel's effects; a launch forks a monitor that records through RecordingHooks."""
    return KernelEffects(ctx.root, lambda view: lambda: RecordingHooks(ctx.root, view), ctx.close, ctx)
