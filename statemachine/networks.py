"""The network aggregate: bridge networks, their IPAM, and container endpoints.

A network is a stream of events: `create` (subnet, gateway, bridge, its iptables
rules), `allocate` and `release` (one address, with everything that was made
for it: veth, MAC, port rules) and `destroy`. An address is allocated in the log
*before* anything is built with it, under the network's lock and with the
stream's optimistic concurrency as a second guard, so neither a race nor a crash
can hand one address out twice; and what was built can always be found and
undone from the log alone.

The container's own stream gets `connect` and `disconnect`, which feed
`inspect`'s NetworkSettings and `ps`'s PORTS.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
from contextlib import ExitStack
from typing import Any

from mydocker.core import iptables, locks, roottags
from mydocker.core import network as net
from mydocker.statemachine import ipam, naming
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import Conflict, CreateFailed, InvalidArgument, NotFound, UserError
from mydocker.statemachine.lookup import is_hex

# The readers moved down to network_views (name resolution needs them, not the rest);
# callers still reach them as networks.*.
from mydocker.statemachine.network_views import (  # noqa: F401
    DEFAULT_NETWORK,
    NetworkView,
    NoSuchNetwork,
    allocations_of,
    by_id,
    containers_on,
    endpoints_of,
    find,
    get,
    list_all,
)
from mydocker.store.events import ConcurrencyError, Event, NameConflict, append, now_iso

PREDEFINED = ("bridge", "host", "none")
# Like docker's --bip/--bridge daemon options: where the default network lives.
# Read once, when a root first makes its default network; the log keeps the choice.
DEFAULT_SUBNET_ENV = "MYDOCKER_BRIDGE_SUBNET"
DEFAULT_BRIDGE_ENV = "MYDOCKER_BRIDGE_NAME"
# Where each root's default network finds a free subnet (like docker's
# default-address-pools): a /16 of 172.18-172.29 (172.17 is docker0's, 172.30/15
# is for `network create`), then a /20 of 192.168.0.0/16.
DEFAULT_POOLS: tuple[tuple[str, int], ...] = (
    *((f"172.{n}.0.0/16", 16) for n in range(29, 17, -1)), ("192.168.0.0/16", 20))
# Where `network create` without --subnet finds one: /24s of 172.30.0.0/15.
AUTO_POOLS: tuple[tuple[str, int], ...] = (("172.30.0.0/15", 24),)
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
BRIDGE_RE = re.compile(r"^(mydocker0|mdbr-[a-zA-Z0-9_.-]+|mydocker[a-zA-Z0-9_.-]*)$")


# --- bridge, host and none: listed and inspectable before first use, as docker's -----


def predefined_id(tag: str, name: str) -> str:
    import hashlib

    return hashlib.sha256(f"mydocker:{tag}:{name}".encode()).hexdigest()


def _predefined_view(conn: sqlite3.Connection, tag: str, name: str) -> NetworkView:
    """host and none have no bridge, no addresses and no stream; bridge has one once
    a container first needs it (then the real one is listed in its place)."""
    created = conn.execute("SELECT MIN(time) FROM events").fetchone()[0] or now_iso()
    driver = {"bridge": "bridge", "host": "host", "none": "null"}[name]
    return NetworkView({"id": predefined_id(tag, name), "name": name, "version": 0, "driver": driver,
                        "subnet": "", "gateway": "", "bridge": "", "config": json.dumps({"predefined": True}),
                        "allocations": "{}", "created_at": created})


def with_predefined(ctx: Context) -> list[NetworkView]:
    """Every network, bridge, host and none included, by name as docker's ls sorts."""
    real = list_all(ctx.conn)
    have = {v.name for v in real}
    views = real + [_predefined_view(ctx.conn, ctx.tag, n) for n in PREDEFINED if n not in have]
    return sorted(views, key=lambda v: v.name)


def find_any(ctx: Context, ref: str) -> NetworkView | None:
    """find(), and bridge, host or none by name, id or id prefix before first use."""
    found = find(ctx.conn, ref)
    if found is not None:
        return found
    for name in PREDEFINED:
        if find(ctx.conn, name) is None:
            view = _predefined_view(ctx.conn, ctx.tag, name)
            if ref in (name, view.id) or (is_hex(ref) and view.id.startswith(ref)):
                return view
    return None


# --- create and remove ------------------------------------------------------------


def create(ctx: Context, name: str, subnet: str | None = None, gateway: str | None = None,
           driver: str = "bridge", bridge: str | None = None, default: bool = False,
           pools: tuple[tuple[str, int], ...] = AUTO_POOLS, labels: dict[str, str] | None = None) -> NetworkView:
    """Record the network, then build its bridge and NAT; undone if building fails.
    Without a subnet, the first of pools' (pool, prefix length) subnets that no
    network of this root, host route or other root's bridge overlaps."""
    if driver != "bridge":
        raise NotFound(f"plugin \"{driver}\" not found: only the bridge driver is supported")
    if not NAME_RE.match(name):
        raise InvalidArgument(f"invalid network name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    if name in PREDEFINED and not default:
        raise Conflict(f"network with name {name} already exists")
    if gateway is not None and subnet is None:
        raise InvalidArgument("a gateway needs a --subnet to go with it")
    parsed = ipam.parse_subnet(subnet) if subnet else None
    if parsed is not None:
        gateway = ipam.parse_gateway(parsed, gateway)
    network_id = naming.new_id()
    if default and not ctx.conn.execute("SELECT 1 FROM events WHERE stream_id = ?",
                                        (predefined_id(ctx.tag, name),)).fetchone():
        network_id = predefined_id(ctx.tag, name)  # the id `network ls` showed before first use
    if bridge is not None:
        check_bridge_name(bridge)
    conn = ctx.conn  # opening it makes the state root, where the locks live
    del conn
    # The host lock: two roots choosing a subnet or bridge name at once must not
    # both take the same one (each sees the other's bridge only once it exists).
    with locks.hold(ctx.root, "networks"), locks.hold(roottags.host_dir(), "networks"):
        if find(ctx.conn, name) is not None:
            raise Conflict(f"network with name {name} already exists")
        if bridge is None:
            bridge = _free_bridge_name(ctx.tag, network_id, default)
        others = [(n.row["subnet"], f"network {n.name}") for n in list_all(ctx.conn)]
        others += [(dst, f"route on {dev}") for dst, dev in net.host_routes(exclude_dev=bridge)]
        if parsed is None:
            parsed = _free_subnet(others, pools)
            gateway = ipam.parse_gateway(parsed, None)
        clash = ipam.overlapping(parsed, others)
        if clash:
            raise Conflict(f"Pool overlaps with other one on this address space: {parsed} overlaps "
                           f"{clash[0]} ({clash[1]})")
        assert gateway is not None
        rules = iptables.network_rules(network_id, bridge, str(parsed), ctx.tag)
        payload = {"name": name, "driver": driver, "subnet": str(parsed), "gateway": gateway, "bridge": bridge,
                   "default": default, "root_tag": ctx.tag, "rules": [r.to_list() for r in rules],
                   "labels": dict(labels or {})}
        try:
            append(ctx.conn, "network", network_id, 0, [Event("create", payload, ctx.actor())])
        except NameConflict:
            raise Conflict(f"network with name {name} already exists") from None
        view = by_id(ctx.conn, network_id)
        assert view is not None
        try:
            _build(view)
        except (net.NetworkError, iptables.IptablesError, OSError) as exc:
            _unbuild(view)
            append(ctx.conn, "network", network_id, view.row["version"],
                   [Event("destroy", {"bridge": bridge, "reason": str(exc)}, ctx.actor())])
            raise UserError(f"cannot create network {name}: {exc}") from None
    return view


def check_bridge_name(bridge: str) -> None:
    if len(bridge) > net.IFNAMSIZ or not BRIDGE_RE.match(bridge):
        raise InvalidArgument(f"invalid bridge name {bridge!r}: ours are mdbr-* or mydocker*, at most 15 characters")


def _free_bridge_name(root_tag: str, network_id: str, default: bool) -> str:
    """mydocker-<root tag> for the default network (docker0's role, one per root),
    unless that name is taken (two roots whose tags collide); mdbr-<id> otherwise."""
    if default and not net.link_exists(f"mydocker-{root_tag}"):
        return f"mydocker-{root_tag}"
    return f"mdbr-{network_id[:10]}"


def _free_subnet(others: list[tuple[str, str]], pools: tuple[tuple[str, int], ...]) -> ipam.Net:
    for pool, prefixlen in pools:
        for candidate in ipam.parse_subnet(pool).subnets(new_prefix=prefixlen):
            if ipam.overlapping(candidate, others) is None:
                return candidate
    where = ", ".join(pool for pool, _ in pools)
    raise Conflict(f"could not find an available, non-overlapping address pool in {where}")


def _build(view: NetworkView) -> None:
    net.ensure_bridge(view.bridge_spec())
    net.enable_ip_forward()  # only networks that route need it
    iptables.add(view.rules)


def _unbuild(view: NetworkView) -> None:
    iptables.remove(view.rules)
    net.delete_bridge(view.bridge, view.bridge_spec().alias)


def ensure_default(ctx: Context) -> NetworkView:
    """The `bridge` network, made on first use (docker0's role)."""
    found = find(ctx.conn, DEFAULT_NETWORK)
    if found is not None:
        return found
    subnet = os.environ.get(DEFAULT_SUBNET_ENV) or None
    bridge = os.environ.get(DEFAULT_BRIDGE_ENV) or None
    try:
        return create(ctx, DEFAULT_NETWORK, subnet, None, bridge=bridge, default=True, pools=DEFAULT_POOLS)
    except UserError as exc:
        found = find(ctx.conn, DEFAULT_NETWORK)
        if found is not None:  # a racing command made it first
            return found
        raise CreateFailed(f"default network: {exc}") from None


def remove(ctx: Context, ref: str, allow_predefined: bool = False) -> str:
    """Refused while any container is configured on it; idempotent underneath."""
    if ref in PREDEFINED and not allow_predefined:
        raise Conflict(f"{ref} is a pre-defined network and cannot be removed")
    view = get(ctx.conn, ref)
    if view.name in PREDEFINED and not allow_predefined:
        raise Conflict(f"{view.name} is a pre-defined network and cannot be removed")
    with locks.hold(ctx.root, "networks"), locks.hold(ctx.root, f"network-{view.id}"):
        current = by_id(ctx.conn, view.id)
        if current is None:
            raise NoSuchNetwork(ref)
        users = containers_on(ctx.conn, current.id)
        if users:
            names = ", ".join(n for _, n in users)
            raise Conflict(f"error while removing network: network {current.name} id {current.id} has active "
                           f"endpoints ({names})")
        # Addresses still allocated belong to containers that are gone (a crash
        # between their rm and the release): undo what the log says was made.
        for ip, endpoint in current.allocations.items():
            _undo_endpoint(endpoint)
            current = _append(ctx, current, "release", {"ip": ip, "container": endpoint["container"],
                                                        "reason": "network rm"})
        _unbuild(current)
        _append(ctx, current, "destroy", {"bridge": current.bridge, "rules": current.config.get("rules", [])})
    locks.forget(ctx.root, f"network-{view.id}")
    return view.id


def _append(ctx: Context, view: NetworkView, event_type: str, payload: dict[str, Any]) -> NetworkView:
    """Append under the network's lock; the version check still guards a bug."""
    append(ctx.conn, "network", view.id, view.row["version"], [Event(event_type, payload, ctx.actor())])
    return by_id(ctx.conn, view.id) or view


# --- what run/create ask for ----------------------------------------------------------


def resolve_for_container(ctx: Context, mode: str, requested_ip: str | None,
                          ports: list[dict[str, Any]], container_id: str = "") -> dict[str, Any]:
    """Check a container's network options at create time and return the config to
    record: {"mode", "id", "name", "ip", "ports"}. Nothing is allocated yet."""
    if mode in ("none", "host"):
        if requested_ip:
            raise InvalidArgument(f"--ip cannot be used with --network {mode}")
        if ports and mode == "none":
            raise InvalidArgument("published ports need a bridge network, not --network none")
        # docker ignores -p with host networking (the ports are the host's already)
        return {"mode": mode, "id": None, "name": mode, "ip": None, "ports": []}
    if mode.startswith("container:"):  # X's netns: nothing of its own to allocate or undo
        return {"mode": "container", "id": None, "name": mode, "ip": None, "ports": []}
    try:
        view = ensure_default(ctx) if mode == DEFAULT_NETWORK else get(ctx.conn, mode)
    except NoSuchNetwork:
        raise NotFound(f"network {mode} not found") from None
    ip = None
    if requested_ip:
        ip = ipam.check_requested(view.subnet, view.gateway, requested_ip)
    if ports:
        check_ports(ctx.conn, ports, container_id)
    return {"mode": "bridge", "id": view.id, "name": view.name, "ip": ip, "ports": ports}


def check_extras(ctx: Context, network: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """What run/create's --link and --ip6 need from the log: a link on the default
    network names a container there; an IPv6 address needs an IPv6 network, which
    mydocker's are not (docker ignores --ip6 on its default bridge, as here). The
    API's further endpoints (extra_network_requests) become extra_networks.
    Returns the config extras to record."""
    from mydocker.statemachine import queries

    extra = dict(extra)
    if extra.get("ip6") and network.get("name") != DEFAULT_NETWORK:
        raise InvalidArgument("user specified IP address is supported only when connecting to networks with "
                              "user configured subnets")
    requests = extra.pop("extra_network_requests", None) or []
    if requests:
        extra["extra_networks"] = _extra_networks(ctx, network, requests)
    if network.get("name") == DEFAULT_NETWORK:  # on a user network a link is an alias, resolved when there
        for target_ref, _alias in extra.get("links") or []:
            target = queries.find(ctx.conn, target_ref)
            if target is None:
                raise NotFound(f"could not get container for {target_ref}: No such container: {target_ref}")
            if (target.config.get("network") or {}).get("id") != network.get("id"):
                raise InvalidArgument(f"Cannot link to /{target.name}, as it does not belong to the default "
                                      "network")
    return extra


def _extra_networks(ctx: Context, network: dict[str, Any], requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if network.get("mode") != "bridge":
        raise InvalidArgument("conflicting options: cannot attach both user-defined and non-user-defined "
                              "network-modes")
    out: list[dict[str, Any]] = []
    for request in requests:
        if request["name"] in ("host", "none"):
            raise InvalidArgument("conflicting options: cannot attach both user-defined and non-user-defined "
                                  "network-modes")
        try:
            view = ensure_default(ctx) if request["name"] == DEFAULT_NETWORK else get(ctx.conn, request["name"])
        except NoSuchNetwork:
            raise NotFound(f"network {request['name']} not found") from None
        if view.id == network.get("id") or any(e["id"] == view.id for e in out):
            continue
        ip = ipam.check_requested(view.subnet, view.gateway, request["ip"]) if request.get("ip") else None
        out.append({"mode": "bridge", "id": view.id, "name": view.name, "ip": ip, "ports": [],
                    "aliases": list(request.get("aliases") or [])})
    return out


def check_ports(conn: sqlite3.Connection, ports: list[dict[str, Any]], container_id: str) -> None:
    """Two containers cannot take one host port: not in this root (the log), not in
    another (our DNAT rules), not a host service listening on it."""
    seen: set[tuple[str, int]] = set()
    for p in ports:
        key = (p["proto"], p["host_port"])
        if key in seen:
            raise InvalidArgument(f"port {p['host_port']}/{p['proto']} is published twice")
        seen.add(key)
    taken: dict[tuple[str, int], str] = {}
    for view in list_all(conn):
        for endpoint in view.allocations.values():
            if endpoint["container"] != container_id:
                for p in endpoint.get("ports", []):
                    taken[(p["proto"], p["host_port"])] = endpoint["container"]
    in_rules = iptables.host_ports_taken()
    for p in ports:
        key = (p["proto"], p["host_port"])
        where = f"{p.get('host_ip') or '0.0.0.0'}:{p['host_port']}"
        if key in taken or key in in_rules or not _bindable(p):
            raise Conflict(f"Bind for {where} failed: port is already allocated")


def _bindable(p: dict[str, Any]) -> bool:
    """Is a host service listening there? (Our DNAT would silently steal its traffic.)"""
    kind = socket.SOCK_STREAM if p["proto"] == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT is no owner
        try:
            s.bind((p.get("host_ip") or "0.0.0.0", p["host_port"]))
        except OSError:
            return False
    return True


# --- what the monitor does between the init's namespaces and its exec -----------------


def connect(ctx: Context, container_id: str, config: dict[str, Any], pid: int) -> dict[str, Any]:
    """Allocate an address (in the log first), then build veth, address, route and
    port rules for the container whose init is pid, and record `connect` on the
    container's stream. Returns the endpoint. The container's first endpoint is
    eth0 and carries the default route; each further network's is the next free
    ethN with only its own subnet's route, as docker plugs them."""
    live = [ep for ep in endpoints_of(ctx.conn, container_id)
            if ep.get("pid") == pid and ep["network_id"] != config["id"]]
    # leftovers of a crashed earlier run of this container, or of this network's last hot-plug
    if live:
        _disconnect(ctx, container_id, lambda ep: ep.get("pid") != pid or ep["network_id"] == config["id"])
    else:
        disconnect(ctx, container_id)
    with ExitStack() as held:
        # ports are the host's, whatever the network: one lock for all of them
        if config.get("ports"):
            held.enter_context(locks.hold(ctx.root, "ports"))
        held.enter_context(locks.hold(ctx.root, f"network-{config['id']}"))
        view = by_id(ctx.conn, config["id"])
        if view is None:
            raise CreateFailed(f"network {config['name']} not found")
        if config.get("ports"):
            check_ports(ctx.conn, config["ports"], container_id)
        used = {ep.get("ifname", "eth0") for ep in endpoints_of(ctx.conn, container_id)}
        index = next(n for n in range(len(used) + 1) if f"eth{n}" not in used)
        endpoint = _allocate(ctx, view, container_id, config, pid, index)
    try:
        if not net.link_exists(view.bridge):
            _rebuild(ctx, view)  # the bridge was gone (a reboot): its rules are too
        else:
            net.ensure_bridge(view.bridge_spec())
        net.attach(_endpoint_spec(endpoint), f"/proc/{pid}/ns/net")
        if endpoint["rules"]:
            iptables.add([iptables.Rule.from_list(r) for r in endpoint["rules"]])
        _record_on_container(ctx, container_id, Event("connect", {"endpoint": endpoint}, ctx.actor()))
    except BaseException as exc:
        _disconnect(ctx, container_id, lambda ep: ep["network_id"] == view.id)
        if isinstance(exc, (net.NetworkError, iptables.IptablesError, OSError)):
            raise CreateFailed(f"cannot connect to network {view.name}: {exc}") from None
        raise
    return endpoint


def connect_all(ctx: Context, container_id: str, config: dict[str, Any], pid: int) -> dict[str, Any] | None:
    """At start: the container's first network (eth0), then every network it was
    connected to besides (eth1...). Returns the first's endpoint."""
    network = config.get("network") or {"mode": config["spec"].get("network", "none")}
    if network["mode"] != "bridge":
        return None
    if config.get("mac_address"):  # --mac-address: eth0's
        network = {**network, "mac": config["mac_address"]}
    endpoint = connect(ctx, container_id, network, pid)
    try:
        for extra in config.get("extra_networks") or []:
            connect(ctx, container_id, extra, pid)
    except BaseException:
        disconnect(ctx, container_id, only_pid=pid)
        raise
    return endpoint


def _rebuild(ctx: Context, view: NetworkView) -> None:
    """Make a bridge anew with its subnet from the log, unless another root took
    that subnet while this one's bridge was down (after a reboot, the first root
    to run chooses among routes that do not show the others' yet)."""
    with locks.hold(roottags.host_dir(), "networks"):
        clash = ipam.overlapping(view.subnet, net.host_routes(exclude_dev=view.bridge))
        if clash:
            raise CreateFailed(f"network {view.name}: its subnet {view.row['subnet']} overlaps {clash[0]} on "
                            f"{clash[1]}, taken while its bridge was down: remove one of them")
        net.ensure_bridge(view.bridge_spec())
        iptables.add(view.rules)


def _record_on_container(ctx: Context, container_id: str, event: Event, only_pid: int | None = None) -> None:
    """connect/disconnect on the container's stream, through the one writer
    (aggregate.append retries when the monitor or a command wrote first)."""
    from mydocker.statemachine import aggregate

    def keep(view: Any) -> bool:
        if event.type != "disconnect":
            return True
        endpoint = json.loads(view.row["endpoint"]) if view.row["endpoint"] else None
        return endpoint is not None and (only_pid is None or endpoint.get("pid") == only_pid)

    aggregate.append(ctx, container_id, [event], keep=keep)


def _allocate(ctx: Context, view: NetworkView, container_id: str, config: dict[str, Any],
              pid: int, index: int = 0) -> dict[str, Any]:
    # md-<12 hex> for eth0, md-<10 hex>.<n> for ethN: within IFNAMSIZ, and "md-" for the leak checks
    veth = f"md-{container_id[:12]}" if index == 0 else f"md-{container_id[:10]}.{index}"[:net.IFNAMSIZ]
    mac = config.get("mac") if index == 0 else None  # --mac-address is eth0's
    for _attempt in range(20):
        # the taken addresses only, from SQL: decoding every endpoint grew with the network
        taken = [r[0] for r in ctx.conn.execute(
            "SELECT a.key FROM networks, json_each(networks.allocations) AS a WHERE networks.id = ?", (view.id,))]
        ip = ipam.pick(view.subnet, view.gateway, taken, config.get("ip"), view.name)
        rules = iptables.port_rules(view.id, container_id, view.bridge, ip, config.get("ports", []), view.root_tag)
        endpoint = {
            "container": container_id, "network_id": view.id, "network": view.name, "ip": ip,
            "prefixlen": view.subnet.prefixlen, "gateway": view.gateway, "mac": mac or ipam.mac_for(ip),
            "bridge": view.bridge, "veth": veth, "ports": config.get("ports", []), "ifname": f"eth{index}",
            "alias": net.alias_for(view.root_tag, view.id, container_id) if view.root_tag else "",
            "rules": [r.to_list() for r in rules],
            "pid": pid,  # which run of the container made it: a late monitor undoes only its own
        }
        try:
            append(ctx.conn, "network", view.id, view.row["version"],
                   [Event("allocate", {"ip": ip, "container": container_id, "endpoint": endpoint}, ctx.actor())])
            return endpoint
        except ConcurrencyError:
            view = by_id(ctx.conn, view.id) or view  # someone else allocated: look again
    raise Conflict(f"network {view.name} is changing too fast to allocate an address")


def _endpoint_spec(endpoint: dict[str, Any]) -> net.EndpointSpec:
    return net.EndpointSpec(veth=endpoint["veth"], bridge=endpoint["bridge"], ip=endpoint["ip"],
                            prefixlen=endpoint["prefixlen"], gateway=endpoint["gateway"], mac=endpoint["mac"],
                            alias=endpoint.get("alias", ""), ifname=endpoint.get("ifname", "eth0"),
                            default_route=endpoint.get("ifname", "eth0") == "eth0")


def _undo_endpoint(endpoint: dict[str, Any]) -> None:
    if endpoint.get("rules"):
        iptables.remove([iptables.Rule.from_list(r) for r in endpoint["rules"]])
    if _link_exists(endpoint["veth"]):
        net.detach(endpoint["veth"])


def _link_exists(name: str) -> bool:
    """Usually the veth went with the container's netns: asking the kernel by name
    here saves loading pyroute2 (~130 ms) in every rm, stop and monitor exit."""
    import socket

    try:
        socket.if_nametoindex(name)
        return True
    except OSError:
        return False


def disconnect(ctx: Context, container_id: str, only_pid: int | None = None,
               network_id: str | None = None) -> list[dict[str, Any]]:
    """Undo every endpoint the log says the container has: rules, veth, address;
    then `release` each address and record `disconnect`. Idempotent, and safe to
    race with another disconnect of the same container. only_pid: undo only what
    that run of the container made (a monitor cleaning up after its own init).
    network_id: only the endpoint on that network (`network disconnect`)."""
    if network_id is not None:
        return _disconnect(ctx, container_id, lambda ep: ep["network_id"] == network_id, only_pid)
    return _disconnect(ctx, container_id, None, only_pid)


def _disconnect(ctx: Context, container_id: str, which: Any, only_pid: int | None = None) -> list[dict[str, Any]]:
    """which: None for all of the container's endpoints, else a test of each; a
    partial disconnect names the networks it left in its event."""
    undone: list[dict[str, Any]] = []
    for network_id, ip in allocations_of(ctx.conn, container_id):
        with locks.hold(ctx.root, f"network-{network_id}"):
            view = by_id(ctx.conn, network_id)
            endpoint = view.allocations.get(ip) if view else None
            if view is None or endpoint is None or endpoint["container"] != container_id:
                continue  # released by someone else meanwhile
            if only_pid is not None and endpoint.get("pid") != only_pid:
                continue
            if which is not None and not which(endpoint):
                continue
            _undo_endpoint(endpoint)
            _append(ctx, view, "release", {"ip": ip, "container": container_id, "veth": endpoint["veth"]})
            undone.append(endpoint)
    if which is None:
        _record_on_container(ctx, container_id,
                             Event("disconnect", {"released": [e["ip"] for e in undone]}, ctx.actor()), only_pid)
    elif undone:
        _record_on_container(ctx, container_id, Event("disconnect", {
            "released": [e["ip"] for e in undone], "network_ids": [e["network_id"] for e in undone]},
            ctx.actor()), only_pid)
    if undone:
        from mydocker.statemachine import name_resolution

        for endpoint in undone:  # its name stops resolving on the networks it left
            name_resolution.refresh(ctx, endpoint["network_id"])
    return undone
