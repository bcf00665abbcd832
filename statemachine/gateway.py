"""Which of a container's networks holds its default route and published ports
after the one that held them is disconnected, and moving them there live.

Docker 20.10 orders a sandbox's endpoints by network name (internal networks
last) and gives the first its default route and its port mappings; so after
`network disconnect` of the first network, the remaining network whose name
sorts first takes both, on the interface it already has (eth1...); and a
`network connect` of a network whose name sorts before the first's takes them
from it (libnetwork's sandbox.updateGateway after the join).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mydocker.core import iptables, locks, procinfo
from mydocker.core import network as net
from mydocker.statemachine import queries
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import CreateFailed
from mydocker.statemachine.machine import alive
from mydocker.statemachine.network_views import NetworkView, allocations_of, by_id
from mydocker.store.events import Event, append


def successor(extras: list[dict[str, Any]]) -> dict[str, Any]:
    """The network that takes the gateway among those left, as docker picks it."""
    return min(extras, key=lambda e: e.get("name") or "")


def by_name(extras: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The networks besides the first in docker's order: a start joins them as
    eth1, eth2... by name, as dockerd's sorted endpoints."""
    return sorted(extras, key=lambda e: e.get("name") or "")


def takes_gateway(joined_name: str, first: dict[str, Any]) -> bool:
    """Whether a network joined now takes the default route and ports from the first."""
    return first.get("mode") == "bridge" and joined_name < (first.get("name") or "")


def hand_over(ctx: Context, container_id: str, from_id: str, to_id: str, ports: list[dict[str, Any]]) -> None:
    """`network connect` of a network that sorts first: the old first's port rules
    go (before the new ones come: the first DNAT rule of a port wins), then the
    default route and the ports move to to_id (take_over)."""
    with locks.hold(ctx.root, container_id):
        view = queries.by_id(ctx.conn, container_id)
        if view is None or not alive(view) or not procinfo.is_same_process(view.row["pid"], view.row["pid_start"]):
            return
        if ports:
            _drop_ports(ctx, container_id, from_id)
        _take_over(ctx, container_id, to_id, ports, view.row["pid"])


def _drop_ports(ctx: Context, container_id: str, network_id: str) -> None:
    import json

    with _endpoint(ctx, container_id, network_id) as found:
        if found is None:
            return
        view, ip, endpoint = found
        published = {json.dumps(r.to_list()) for r in iptables.port_rules(
            view.id, container_id, view.bridge, ip, endpoint.get("ports") or [], view.root_tag)}
        dropped = [r for r in endpoint.get("rules", []) if json.dumps(r) in published]
        stripped = {**endpoint, "ports": [], "rules": [r for r in endpoint.get("rules", [])
                                                       if json.dumps(r) not in published]}
        _rewrite(ctx, view, ip, container_id, endpoint, stripped)
        iptables.remove([iptables.Rule.from_list(r) for r in dropped])
    _record(ctx, container_id, stripped)


@contextmanager
def _endpoint(ctx: Context, container_id: str, network_id: str
              ) -> Iterator[tuple[NetworkView, str, dict[str, Any]] | None]:
    """The container's endpoint on network_id (its network, address and record),
    under the ports and network locks; None if the log no longer gives it one
    (released meanwhile)."""
    ip = next((ip for allocated_on, ip in allocations_of(ctx.conn, container_id) if allocated_on == network_id),
              None)
    if ip is None:
        yield None
        return
    with locks.hold(ctx.root, "ports"), locks.hold(ctx.root, f"network-{network_id}"):
        view = by_id(ctx.conn, network_id)
        endpoint = view.allocations.get(ip) if view else None
        if view is None or endpoint is None or endpoint["container"] != container_id:
            yield None
        else:
            yield view, ip, endpoint


def _rewrite(ctx: Context, view: NetworkView, ip: str, container_id: str, old: dict[str, Any],
             new: dict[str, Any]) -> None:
    """Release + allocate of the same address in one append: the record changes, never half."""
    append(ctx.conn, "network", view.id, view.row["version"], [
        Event("release", {"ip": ip, "container": container_id, "veth": old["veth"]}, ctx.actor()),
        Event("allocate", {"ip": ip, "container": container_id, "endpoint": new}, ctx.actor())])


def _record(ctx: Context, container_id: str, endpoint: dict[str, Any]) -> None:
    """The container's stream too: `port`, `ps` and inspect read its endpoints."""
    from mydocker.statemachine import aggregate

    aggregate.append(ctx, container_id, [Event("connect", {"endpoint": endpoint}, ctx.actor())])


def take_over(ctx: Context, container_id: str, network_id: str, ports: list[dict[str, Any]]) -> None:
    """Point the live container's default route at network_id's gateway and publish
    ports on its address; its endpoint record (in the network's log) gains the
    port rules, so that its later disconnect removes them. Under the container's
    lock: a container that stopped meanwhile took its endpoints along."""
    with locks.hold(ctx.root, container_id):
        view = queries.by_id(ctx.conn, container_id)
        if view is None or not alive(view) or not procinfo.is_same_process(view.row["pid"], view.row["pid_start"]):
            return
        _take_over(ctx, container_id, network_id, ports, view.row["pid"])


def _take_over(ctx: Context, container_id: str, network_id: str, ports: list[dict[str, Any]], pid: int) -> None:
    with _endpoint(ctx, container_id, network_id) as found:
        if found is None:
            return  # released meanwhile: nothing to route through
        view, ip, endpoint = found
        try:
            net.move_default_route(f"/proc/{pid}/ns/net", endpoint["gateway"], endpoint.get("ifname", "eth0"))
        except net.NetworkError as exc:
            raise CreateFailed(f"cannot move the default route to network {view.name}: {exc}") from None
        if not ports:
            return
        rules = iptables.port_rules(view.id, container_id, view.bridge, ip, ports, view.root_tag)
        moved = {**endpoint, "ports": ports, "rules": [*endpoint.get("rules", []), *(r.to_list() for r in rules)]}
        _rewrite(ctx, view, ip, container_id, endpoint, moved)
        iptables.add(rules)
    _record(ctx, container_id, moved)
