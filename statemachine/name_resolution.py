"""Containers on one user-defined network find each other by name, alias and
short id, as docker's embedded DNS lets them.

The network's allocations in the log say who is on it and at which address;
whenever that changes (a container's monitor connects it on start, or
disconnects it when it dies — which `stop`, `kill` and `rm -f` all go through),
every member's /etc/hosts is rewritten in place from the log, so a stopped or
removed container's name stops resolving. Any libc resolver reads that file, and
the container's DNS server at 127.0.0.11 (core.dnsserver, in its waiter) answers
from it too, for the resolvers that only speak DNS.
The default `bridge` network gets none of this, as in docker, but for `--link`.

A container on several networks sees the peers of each of them (with the
aliases it gave on that network), and its `--link`s (name and alias, on a
network it shares with the target), so its file is always written whole from
the log, under a lock on the file itself: whoever writes last read the log last.
"""

from __future__ import annotations

import os
from typing import Any

from mydocker.core import etcfiles
from mydocker.core.spec import container_dir
from mydocker.statemachine import queries
from mydocker.statemachine.context import Context
from mydocker.statemachine.network_views import DEFAULT_NETWORK, by_id, endpoints_of


def refresh(ctx: Context, network_id: str | None) -> None:
    """Every member of the network gets its /etc/hosts rewritten."""
    if not network_id:
        return
    view = by_id(ctx.conn, network_id)
    if view is None:
        return
    members = dict.fromkeys(endpoint["container"] for _ip, endpoint in sorted(view.allocations.items()))
    if view.name == DEFAULT_NETWORK:  # only those that link to someone need a rewrite
        members = {cid: None for cid in members if _links(ctx, cid)}
    for container_id in members:
        refresh_container(ctx, container_id)


def aliases_on(config: dict[str, Any], network_id: str) -> list[str]:
    """The aliases a container gave itself on one of its networks."""
    if (config.get("network") or {}).get("id") == network_id:
        return list(config.get("aliases") or [])
    for extra in config.get("extra_networks") or []:
        if extra.get("id") == network_id:
            return list(extra.get("aliases") or [])
    return []


def _links(ctx: Context, container_id: str) -> list[list[str]]:
    container = queries.by_id(ctx.conn, container_id)
    return list(container.config.get("links") or []) if container is not None else []


def refresh_container(ctx: Context, container_id: str) -> None:
    path = container_dir(ctx.root, container_id) / "hosts"
    if not path.parent.is_dir():
        return
    with etcfiles.held(path):
        container = queries.by_id(ctx.conn, container_id)
        if container is None:
            return
        own = endpoints_of(ctx.conn, container_id)
        if not own:
            return  # not running: the next start writes the file
        peers: list[tuple[str, list[str]]] = []
        for endpoint in own:
            view = by_id(ctx.conn, endpoint["network_id"])
            if view is None or view.name == DEFAULT_NETWORK:
                continue
            for ip, other in sorted(view.allocations.items()):
                peer = queries.by_id(ctx.conn, other["container"]) if other["container"] != container_id else None
                if peer is not None:
                    # NAME.NETWORK too, as docker's DNS answers it: which network's address is meant
                    names = [peer.name, *aliases_on(peer.config, view.id), peer.id[:12], f"{peer.name}.{view.name}"]
                    peers.append((ip, names))
        peers = _linked(ctx, container_id, own, container.config.get("links") or []) + peers
        spec = container.config["spec"]
        extra = (container.config.get("etc") or {}).get("extra_hosts") or ()
        names = etcfiles.own_names(spec["hostname"], spec.get("domainname", ""))
        text = etcfiles.hosts_text([*names, container.id[:12], container.name], own[0]["ip"], extra, peers)
        etcfiles.rewrite_in_place(path, text)


def _linked(ctx: Context, container_id: str, own: list[dict[str, Any]],
            links: list[list[str]]) -> list[tuple[str, list[str]]]:
    """--link NAME:ALIAS: the target's address on a network both are on, under
    the alias, its short id and its name (docker's /etc/hosts line)."""
    mine = {ep["network_id"] for ep in own}
    out = []
    for target_ref, alias in links:
        target = queries.find(ctx.conn, target_ref)
        if target is None:
            continue  # gone: its line goes with it
        shared = [ep for ep in endpoints_of(ctx.conn, target.id) if ep["network_id"] in mine]
        if shared:
            out.append((shared[0]["ip"], [alias, target.id[:12], target.name]))
    return out


def start_resolver(ctx: Context, container_id: str) -> None:
    """docker starts a running container's embedded DNS server when `network
    connect` gives it its first user-defined network (it ran on the default
    bridge, or on none): its resolv.conf says 127.0.0.11 from then on. The
    sockets are made in its netns here and handed to its waiter (core.dnsserver.
    give); resolv.conf changes only once the waiter has them."""
    from mydocker.core import dnsserver, locks, procinfo
    from mydocker.statemachine.machine import alive

    with locks.hold(ctx.root, container_id):
        view = queries.by_id(ctx.conn, container_id)
        if view is None or not alive(view) or not procinfo.is_same_process(view.row["pid"], view.row["pid_start"]):
            return
        directory = container_dir(ctx.root, container_id)
        resolv = directory / "resolv.conf"
        try:
            text = resolv.read_text()
        except OSError:
            return
        if f"nameserver {dnsserver.ADDRESS}" in text.splitlines():
            return  # it has one already
        with_embedded, upstreams = etcfiles.embedded_resolv(text)
        try:
            sockets = dnsserver.open_sockets(view.row["pid"])
        except OSError:
            return  # its netns went away meanwhile, or 127.0.0.11:53 is taken in it
        try:
            given = dnsserver.give(str(directory), sockets, str(directory / "hosts"), upstreams)
        finally:
            for fd in sockets:
                os.close(fd)
        if given:
            etcfiles.rewrite_in_place(resolv, with_embedded)
