"""`network connect` and `network disconnect`: a container's networks changed
through its own aggregate (its monitor's effects hot-plug into a live init).

A container's first network is config["network"] (eth0, the default route, its
published ports); the others it was connected to are config["extra_networks"]
(eth1...). `connect` hot-plugs into a live init's netns, or is recorded for the
next start. A container created with --network none is docker's private mode
and refuses, as docker does; one that `disconnect` left with none takes the
next network as its first. Disconnecting the first while others remain hands
its default route and ports to the one docker would pick, and connecting a
network whose name sorts before the first's makes it the first, taking both
(statemachine.gateway).

Above networks and monitorhooks, which both sit below it.
"""

from __future__ import annotations

from typing import Any

from mydocker.statemachine import aggregate, gateway, ipam, name_resolution, queries
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import Conflict
from mydocker.statemachine.machine import alive
from mydocker.statemachine.monitorhooks import effects_for
from mydocker.statemachine.network_views import DEFAULT_NETWORK, NoSuchNetwork, find, get
from mydocker.statemachine.networks import check_ports, ensure_default

HOST_MODE = "container cannot be disconnected from host network or connected to host network"


def _attachments(config: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """The container's first network, its others and its mode; a container in the
    host's network can neither be connected nor disconnected, as docker says."""
    current = config.get("network") or {}
    extras = list(config.get("extra_networks") or [])
    mode = current.get("mode") or config["spec"].get("network", "none")
    if mode == "host":
        raise Conflict(HOST_MODE)
    return current, extras, mode


def connect_container(ctx: Context, net_ref: str, container_ref: str, aliases: list[str] | None = None,
                      ip: str | None = None) -> None:
    container = queries.get(ctx.conn, container_ref)
    if net_ref == "host":
        raise Conflict(HOST_MODE)
    if net_ref == "none":
        raise Conflict("container cannot be connected to multiple networks with one of the networks in private "
                       "(none) mode")
    view = ensure_default(ctx) if net_ref == DEFAULT_NETWORK else get(ctx.conn, net_ref)

    def action(machine: Any) -> None:
        config = machine.view.config
        current, extras, mode = _attachments(config)
        if mode == "container":  # X's netns is X's to plug into
            raise Conflict("container sharing network namespace with another container or host cannot be "
                           "connected to any other network")
        if current.get("id") == view.id or any(e["id"] == view.id for e in extras):
            raise Conflict(f"endpoint with name {machine.view.name} already exists in network {view.name}")
        if mode == "none" and not current.get("disconnected"):
            raise Conflict("container cannot be connected to multiple networks with one of the networks in "
                           "private (none) mode")
        requested = ipam.check_requested(view.subnet, view.gateway, ip) if ip else None
        if mode == "none":  # its first network
            ports = list(current.get("ports") or [])
            if ports:
                check_ports(ctx.conn, ports, machine.view.id)
            network = {"mode": "bridge", "id": view.id, "name": view.name, "ip": requested, "ports": ports}
            machine.handle("network_connect", network=network, aliases=list(aliases or []))
            return
        joined = {"mode": "bridge", "id": view.id, "name": view.name, "ip": requested, "ports": [],
                  "aliases": list(aliases or [])}
        if gateway.takes_gateway(view.name, current):  # it becomes the first: route and ports move to it
            ports = list(current.get("ports") or [])
            first = {**joined, "ports": ports}
            del first["aliases"]
            demoted = {**current, "ports": [], "aliases": list(config.get("aliases") or [])}
            machine.handle("network_connect", network=first, aliases=list(aliases or []),
                           extra_networks=gateway.by_name([demoted, *extras]), joined=joined)
            if alive(machine.view):
                moved.append((current["id"], ports))
            return
        machine.handle("network_connect", network=current, aliases=list(config.get("aliases") or []),
                       extra_networks=gateway.by_name([*extras, joined]), joined=joined)

    moved: list[tuple[str, list[dict[str, Any]]]] = []
    aggregate.locked(ctx, container.id, action, effects_for(ctx))
    for previous_id, ports in moved:
        gateway.hand_over(ctx, container.id, previous_id, view.id, ports)
    name_resolution.refresh(ctx, view.id)  # now that the aliases are in the log too
    if view.name != DEFAULT_NETWORK:
        name_resolution.start_resolver(ctx, container.id)


def disconnect_container(ctx: Context, net_ref: str, container_ref: str, force: bool = False) -> None:
    container = queries.get(ctx.conn, container_ref)
    if net_ref == "host":
        raise Conflict(HOST_MODE)
    view = find(ctx.conn, net_ref)
    if view is None and not force:
        raise NoSuchNetwork(net_ref)

    def matches(network: dict[str, Any]) -> bool:
        return network.get("id") == view.id if view is not None else network.get("name") == net_ref

    moved: list[tuple[str, list[dict[str, Any]]]] = []

    def action(machine: Any) -> None:
        config = machine.view.config
        current, extras, mode = _attachments(config)
        if mode != "bridge" or not (matches(current) or any(matches(e) for e in extras)):
            raise Conflict(f"container {machine.view.id} is not connected to network {net_ref}")
        if not matches(current):  # one of the others: the first stays as it is
            left = next(e for e in extras if matches(e))
            machine.handle("network_disconnect", network=current, left=left["name"], network_id=left["id"],
                           aliases=list(config.get("aliases") or []),
                           extra_networks=[e for e in extras if not matches(e)])
        elif extras:  # docker's next gateway network becomes the first, its ports kept (docker's HostConfig)
            first = gateway.successor(extras)
            rest = [e for e in extras if e is not first]
            ports = current.get("ports") or []
            promoted = {**first, "ports": ports}
            promoted_aliases = promoted.pop("aliases", [])
            machine.handle("network_disconnect", network=promoted, left=current.get("name", ""),
                           network_id=current.get("id"), aliases=promoted_aliases, extra_networks=rest)
            if alive(machine.view):  # its default route and published ports move there, once recorded
                moved.append((first["id"], ports))
        else:
            # What is left: no network until a connect, the published ports kept for it (docker's HostConfig).
            left_none = {"mode": "none", "id": None, "name": "none", "ip": None,
                         "ports": current.get("ports") or [], "disconnected": True}
            machine.handle("network_disconnect", network=left_none, left=current.get("name", ""),
                           network_id=current.get("id"), extra_networks=[])

    aggregate.locked(ctx, container.id, action, effects_for(ctx))
    for network_id, ports in moved:
        gateway.take_over(ctx, container.id, network_id, ports)
