"""IP address management, pure: subnets, gateways, picking a free address.

The allocation table itself is the `allocations` column of the networks
projection, folded from `allocate` and `release` events; this module only
decides, given that table, which address to hand out next.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from mydocker.statemachine.errors import Conflict, InvalidArgument

Net = ipaddress.IPv4Network


def parse_subnet(text: str) -> Net:
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid subnet {text}: not an IPv4 CIDR") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise InvalidArgument(f"invalid subnet {text}: only IPv4 is supported")
    if str(net) != text.strip():
        raise InvalidArgument(f"invalid subnet {text}: it should be {net}")
    if net.is_loopback or net.is_multicast or net.is_link_local or net.is_reserved or net.is_unspecified:
        raise InvalidArgument(f"invalid subnet {text}: loopback, link-local, multicast and reserved ranges "
                              "cannot be used")
    if net.prefixlen > 30:
        raise InvalidArgument(f"invalid subnet {text}: too small, at most /30")
    return net


def parse_gateway(net: Net, text: str | None) -> str:
    """The given gateway (inside the subnet, a host address), or the first host."""
    if text is None:
        return str(net.network_address + 1)
    try:
        gateway = ipaddress.IPv4Address(text.strip())
    except ValueError:
        raise InvalidArgument(f"invalid gateway {text}: not an IPv4 address") from None
    if gateway not in net or gateway in (net.network_address, net.broadcast_address):
        raise InvalidArgument(f"invalid gateway {text}: not a host address of subnet {net}")
    return str(gateway)


def overlapping(net: Net, others: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """The first (subnet, owner) that overlaps net, if any."""
    for subnet, owner in others:
        if net.overlaps(ipaddress.ip_network(subnet, strict=False)):
            return subnet, owner
    return None


def check_requested(net: Net, gateway: str, text: str) -> str:
    """A fixed address asked for with --ip: a free-able host address of the subnet."""
    try:
        ip = ipaddress.IPv4Address(text.strip())
    except ValueError:
        raise InvalidArgument(f"invalid IP address {text}") from None
    if ip not in net:
        raise InvalidArgument(f"requested IP {ip} is not in the network's subnet {net}")
    if ip in (net.network_address, net.broadcast_address) or str(ip) == gateway:
        raise InvalidArgument(f"requested IP {ip} is the network, broadcast or gateway address of {net}")
    return str(ip)


def pick(net: Net, gateway: str, taken: Iterable[str], requested: str | None = None,
         network_name: str = "") -> str:
    """The requested address if free, else the lowest free host address.

    Never the network address, the broadcast address or the gateway."""
    used = set(taken)
    label = network_name or str(net)
    if requested is not None:
        ip = check_requested(net, gateway, requested)
        if ip in used:
            raise Conflict(f"Address already in use: {ip} on network {label}")
        return ip
    # As integers: with hundreds allocated, making an address object and its text for
    # each taken one cost every start milliseconds. Lowest first, as net.hosts() counts.
    skip = {int(ipaddress.IPv4Address(ip)) for ip in used}
    skip.add(int(ipaddress.IPv4Address(gateway)))
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.prefixlen < 31:
        first, last = first + 1, last - 1  # neither the network nor the broadcast address
    for candidate in range(first, last + 1):  # a range: a /8 is not materialised
        if candidate not in skip:
            return str(ipaddress.IPv4Address(candidate))
    raise Conflict(f"no available IPv4 addresses on network {label} (subnet {net}): all are allocated")


def mac_for(ip: str) -> str:
    """docker's scheme: 02:42 then the address's four bytes, so a MAC never clashes
    with another container's on the same bridge."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)
