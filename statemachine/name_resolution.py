"""Containers on one user-defined network find each other by name, alias and
short id, as docker's embedded DNS lets them.

Design: no server. The network's allocations in the log say who is on it and at
which address; whenever that changes (a container's monitor connects it on
start, or disconnects it when it dies — which `stop`, `kill` and `rm -f` all go
through), every member's /etc/hosts is rewritten in place from the log, so a
stopped or removed container's name stops resolving. There is no process to
keep alive, nothing to restart after a crash, and any libc resolver reads it.
The default `bridge` network gets none of this, as in docker."""

from __future__ import annotations

from mydocker.core import etcfiles, locks
from mydocker.core.spec import container_dir
from mydocker.statemachine import queries
from mydocker.statemachine.context import Context


def refresh(ctx: Context, network_id: str | None) -> None:
    from mydocker.statemachine import networks

    if not network_id:
        return
    with locks.hold(ctx.root, f"network-{network_id}"):  # the lock connect and disconnect take
        view = networks.by_id(ctx.conn, network_id)
        if view is None or view.name == networks.DEFAULT_NETWORK:
            return
        members = []
        for ip, endpoint in sorted(view.allocations.items()):
            container = queries.by_id(ctx.conn, endpoint["container"])
            if container is not None:
                names = [container.name, *container.config.get("aliases", []), container.id[:12]]
                members.append((ip, container, names))
        for ip, container, _names in members:
            spec = container.config["spec"]
            peers = [(peer_ip, names) for peer_ip, other, names in members if other.id != container.id]
            extra = (container.config.get("etc") or {}).get("extra_hosts") or ()
            own = etcfiles.own_names(spec["hostname"], spec.get("domainname", ""))
            text = etcfiles.hosts_text([*own, container.id[:12], container.name], ip, extra, peers)
            path = container_dir(ctx.root, container.id) / "hosts"
            if path.parent.is_dir():
                etcfiles.rewrite_in_place(path, text)
