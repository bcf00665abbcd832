"""Links, addresses and routes through pyroute2 (netlink): no `ip` subprocesses.

pyroute2 costs ~150 ms to import, so it is imported inside the functions that
need it: `ps`, `inspect` and `--network none` containers never load it.

Every removal here is idempotent: a link that is already gone counts as removed,
which is what makes a half-finished `rm` or `network rm` safe to run again.
Our bridges carry the alias `mydocker@<root tag>:<network id>` and our veths
`mydocker@<root tag>:<network id>:<container id>`, so we can tell ours from a
same-named link of another state root, and find what a deleted root left behind.
Bridges made before root tags carry `mydocker:<network id>` and are still ours.
"""

from __future__ import annotations

import errno
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ALIAS_PREFIX = "mydocker@"
LEGACY_ALIAS_PREFIX = "mydocker:"
IFNAMSIZ = 15


class NetworkError(Exception):
    pass


def alias_for(root_tag: str, network_id: str, container_id: str = "") -> str:
    """The owner tag a link carries (IFLA_IFALIAS, up to 255 bytes)."""
    if not root_tag:
        return LEGACY_ALIAS_PREFIX + network_id
    return f"{ALIAS_PREFIX}{root_tag}:{network_id}" + (f":{container_id}" if container_id else "")


def parse_alias(alias: str) -> tuple[str, str, str] | None:
    """(root tag, network id, container id) of one of our aliases; root tag '' when legacy."""
    if alias.startswith(ALIAS_PREFIX):
        parts = alias[len(ALIAS_PREFIX):].split(":")
        if len(parts) in (2, 3) and all(parts):
            return parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    elif alias.startswith(LEGACY_ALIAS_PREFIX) and alias[len(LEGACY_ALIAS_PREFIX):]:
        return "", alias[len(LEGACY_ALIAS_PREFIX):], ""
    return None


@dataclass(frozen=True)
class BridgeSpec:
    network_id: str
    name: str  # mydocker-<root tag> for a default network, mdbr-<id> for others
    gateway: str
    prefixlen: int
    root_tag: str = ""  # '' for networks made before root tags

    @property
    def alias(self) -> str:
        return alias_for(self.root_tag, self.network_id)


@dataclass(frozen=True)
class EndpointSpec:
    veth: str  # the host end, md-<short id>
    bridge: str
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    alias: str = ""
    ifname: str = "eth0"  # eth1, eth2...: a second network's interface
    default_route: bool = True  # the first network's only, as docker routes


def _iproute(netns: str | None = None) -> Any:
    from pyroute2 import IPRoute

    if not netns:
        return IPRoute()
    # IPRoute(netns=...) forks a child to make its socket there, and that child
    # runs `ldconfig -p` (find_library): ~15-20 ms on run -d's path. A netlink
    # socket belongs to the namespace it was made in, so make it ourselves.
    return IPRoute(fileno=_netlink_socket_in(netns))


def _netlink_socket_in(netns_path: str) -> int:
    """A NETLINK_ROUTE socket of the namespace at netns_path, as a close-on-exec fd."""
    import socket

    from mydocker.core import syscalls as sc

    try:
        with sc.thread_in_netns(netns_path):
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, socket.NETLINK_ROUTE)
    except OSError as exc:
        verb = "open" if exc.filename else "enter"
        raise NetworkError(f"cannot {verb} network namespace {netns_path}: {exc.strerror}") from exc
    return sock.detach()


def _gone(exc: Exception) -> bool:
    return getattr(exc, "code", None) in (errno.ENODEV, errno.ENOENT, errno.ESRCH)


def _alias(ipr: Any, index: int) -> str | None:
    links = ipr.get_links(index)
    return links[0].get("ifalias") if links else None


def ensure_bridge(spec: BridgeSpec) -> bool:
    """Create the bridge with its gateway address, up; what already exists is kept.
    True if the bridge had to be created (first use, or after a reboot)."""
    from pyroute2 import NetlinkError

    alias = spec.alias
    with _iproute() as ipr:
        found = ipr.link_lookup(ifname=spec.name)
        if found:
            if _alias(ipr, found[0]) != alias:
                raise NetworkError(f"interface {spec.name} exists and is not this network's bridge")
            index = found[0]
            created = False
        else:
            try:
                ipr.link("add", ifname=spec.name, kind="bridge")
            except NetlinkError as exc:
                raise NetworkError(f"cannot create bridge {spec.name}: {exc}") from exc
            index = ipr.link_lookup(ifname=spec.name)[0]
            ipr.link("set", index=index, ifalias=alias)
            created = True
        have = {a.get("address") for a in ipr.get_addr(index=index, family=2)}
        if spec.gateway not in have:
            ipr.addr("add", index=index, address=spec.gateway, prefixlen=spec.prefixlen)
        ipr.link("set", index=index, state="up")
    # localhost:port -> container needs 127/8 sources routed out of the bridge (docker
    # does the same when it runs without its userland proxy).
    _sysctl(f"net/ipv4/conf/{spec.name}/route_localnet", "1")
    return created


def delete_bridge(name: str, alias: str) -> None:
    from pyroute2 import NetlinkError

    with _iproute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found or _alias(ipr, found[0]) != alias:
            return  # gone already, or not ours to delete
        try:
            ipr.link("del", index=found[0])
        except NetlinkError as exc:
            if not _gone(exc):
                raise NetworkError(f"cannot delete bridge {name}: {exc}") from exc


def attach(spec: EndpointSpec, netns_path: str) -> None:
    """A veth pair: host end on the bridge, the other end made directly as
    spec.ifname inside the container's namespace (it never exists on the host
    under a second name), with address, MAC, and the default route when it is the
    first network's (another network gets only its subnet's route, which the
    address brings); loopback up."""
    import os

    from pyroute2 import NetlinkError

    with _iproute() as ipr:
        bridge = ipr.link_lookup(ifname=spec.bridge)
        if not bridge:
            raise NetworkError(f"bridge {spec.bridge} does not exist")
        ns_fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            ipr.link("add", ifname=spec.veth, kind="veth",
                     peer={"ifname": spec.ifname, "net_ns_fd": ns_fd, "address": spec.mac})
        except NetlinkError as exc:
            raise NetworkError(f"cannot create veth {spec.veth}: {exc}") from exc
        finally:
            os.close(ns_fd)
        index = ipr.link_lookup(ifname=spec.veth)[0]
        if spec.alias:
            ipr.link("set", index=index, ifalias=spec.alias)
        ipr.link("set", index=index, master=bridge[0])
        ipr.link("set", index=index, state="up")
    with _iproute(netns_path) as ns:
        lo = ns.link_lookup(ifname="lo")[0]
        ns.link("set", index=lo, state="up")
        inner = ns.link_lookup(ifname=spec.ifname)[0]
        ns.addr("add", index=inner, address=spec.ip, prefixlen=spec.prefixlen)
        ns.link("set", index=inner, state="up")
        if spec.default_route:
            ns.route("add", dst="default", gateway=spec.gateway)


def detach(veth: str, alias: str | None = None) -> None:
    """Delete the host end (the kernel takes the peer with it); gone already is fine.
    The container's netns dying takes the pair away by itself, maybe right between
    our lookup and our delete: ENODEV at any step is success. alias: delete only
    a link that carries exactly this tag (a sweep by someone who is not its root)."""
    try:
        with _iproute() as ipr:
            found = ipr.link_lookup(ifname=veth)
            if found and (alias is None or _alias(ipr, found[0]) == alias):
                ipr.link("del", index=found[0])
    except Exception as exc:  # noqa: BLE001 - pyroute2 raises several types for one errno
        if not _gone(exc):
            raise NetworkError(f"cannot delete veth {veth}: {exc}") from exc


def our_links() -> list[tuple[str, str]]:
    """(name, alias) of every link named or tagged like ours, for leak checks."""
    found = []
    with _iproute() as ipr:
        for link in ipr.get_links():
            name, alias = link.get("ifname") or "", link.get("ifalias") or ""
            if name.startswith("md-") or parse_alias(alias) is not None:
                found.append((name, alias))
    return found


def sysfs_aliases() -> list[tuple[str, str]]:
    """(name, alias) of the host's links with one of our aliases, from /sys: a
    cheap look before paying pyroute2's import."""
    found = []
    for entry in Path("/sys/class/net").iterdir():
        try:
            alias = (entry / "ifalias").read_text().strip()
        except OSError:
            continue
        if parse_alias(alias) is not None:
            found.append((entry.name, alias))
    return found


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def host_routes(exclude_dev: str | None = None) -> list[tuple[str, str]]:
    """(network, device) of the host's IPv4 routes but the default, and of its
    addresses (the local table's 127/8 included): what a new subnet must not touch."""
    out: list[tuple[str, str]] = []
    with _iproute() as ipr:
        names = {link["index"]: link.get("ifname") for link in ipr.get_links()}
        for addr in ipr.get_addr(family=2):
            dev = names.get(addr["index"], "")
            if dev != exclude_dev:
                out.append((str(ipaddress.ip_network(f"{addr.get('address')}/{addr['prefixlen']}", strict=False)),
                            dev or ""))
        for route in ipr.get_routes(family=2, table=254):
            dst, plen = route.get("dst"), route["dst_len"]
            if not dst or plen == 0:
                continue
            dev = names.get(route.get("oif"), "")
            if dev == exclude_dev:
                continue
            out.append((str(ipaddress.ip_network(f"{dst}/{plen}", strict=False)), dev or ""))
    return out


def enable_ip_forward() -> bool:
    """Turn routing on if it is off; True if we changed it (recorded, never undone,
    as docker does: other things on the host may have come to rely on it)."""
    if _read_sysctl("net/ipv4/ip_forward") == "1":
        return False
    _sysctl("net/ipv4/ip_forward", "1")
    return True


def _read_sysctl(key: str) -> str:
    return Path("/proc/sys", key).read_text().strip()


def _sysctl(key: str, value: str) -> None:
    try:
        Path("/proc/sys", key).write_text(value)
    except OSError as exc:
        raise NetworkError(f"cannot set {key.replace('/', '.')}: {exc.strerror}") from exc


def move_default_route(netns_path: str, gateway: str, ifname: str) -> None:
    """The netns's default route, through gateway on ifname (replacing any): docker's
    gateway moves to a remaining network when the one holding it is disconnected."""
    from pyroute2 import NetlinkError

    with _iproute(netns_path) as ns:
        found = ns.link_lookup(ifname=ifname)
        if not found:
            raise NetworkError(f"interface {ifname} does not exist in the container")
        try:
            ns.route("replace", dst="default", gateway=gateway, oif=found[0])
        except NetlinkError as exc:
            raise NetworkError(f"cannot route through {gateway}: {exc}") from exc
