"""run/create's network flags beside -p: --network given more than once (refused
with docker 20.10's words: a container starts on one network and `network
connect` adds the others), --mac-address, --link NAME[:ALIAS] and --ip6.
Their format is checked here; what needs the log (a link's target, the
network's IPv6) in statemachine.networks.check_extras."""

from __future__ import annotations

import argparse
import ipaddress
import re
from typing import Any

from mydocker.cli.parsing import UsageError

MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
BUILTIN_MODES = ("bridge", "host", "none", "default")


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mac-address", type=parse_mac, help="container MAC address (e.g., 92:d0:c6:0a:29:33)")
    p.add_argument("--link", action="append", default=[], type=parse_link, help="add link to another container")
    p.add_argument("--ip6", type=parse_ip6, help="IPv6 address (e.g., 2001:db8::33)")


def parse_mac(text: str) -> str:
    if not MAC_RE.match(text):
        raise argparse.ArgumentTypeError(f"{text} is not a valid mac address")
    return text.lower()


def parse_link(text: str) -> list[str]:
    """NAME[:ALIAS], the alias defaulting to the name (docker's ParseLink)."""
    parts = text.split(":")
    if len(parts) > 2 or not all(parts):
        raise argparse.ArgumentTypeError(f"bad format for links: {text}")
    name = parts[0].lstrip("/")
    return [name, parts[1] if len(parts) == 2 else name]


def parse_ip6(text: str) -> str:
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid IPv6 address: {text}") from None


def one_network(values: list[str] | None) -> str:
    """docker 20.10's CLI takes --network once per container."""
    if not values:
        return "bridge"
    chosen = list(dict.fromkeys(values))
    if len(chosen) == 1:
        return chosen[0]
    if any(v in BUILTIN_MODES or v.startswith("container:") for v in chosen):
        raise UsageError("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
    raise UsageError(f"Container cannot be connected to network endpoints: {', '.join(chosen)}")


# --network container:X: flags that would change X's network stack or its files,
# in the order docker 20.10's validateNetContainerMode checks them, with its words
_JOINER_CONFLICTS = (
    ("hostname", "conflicting options: hostname and the network mode"),
    ("dns", "conflicting options: dns and the network mode"),
    ("add_host", "conflicting options: custom host-to-IP mapping and the network mode"),
    ("mac_address", "conflicting options: mac-address and the network mode"),
    ("publish", "conflicting options: port publishing and the container type network mode"),
    ("publish_all", "conflicting options: port publishing and the container type network mode"),
    ("expose", "conflicting options: port exposing and the container type network mode"),
)


def check_joiner(args: argparse.Namespace, network: str) -> None:
    """What docker refuses beside --network container:X (--dns-search, --dns-option,
    --ip and --domainname it accepts and ignores: X's files and addresses rule)."""
    if not network.startswith("container:"):
        return
    if args.network_alias:  # docker's CLI checks these two before the daemon sees the rest
        raise UsageError("network-scoped aliases are only supported for user-defined networks")
    if args.link:
        raise UsageError("links are only supported for user-defined networks")
    for attr, words in _JOINER_CONFLICTS:
        if getattr(args, attr, None):
            raise UsageError(words)


def config_extra(args: argparse.Namespace, network: str) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if args.mac_address:
        if network == "host":
            raise UsageError("conflicting options: mac-address and the network mode")
        extra["mac_address"] = args.mac_address
    if args.link:
        if network in ("host", "none"):
            raise UsageError("links are only supported for user-defined networks")
        extra["links"] = list(args.link)
    if args.ip6:
        extra["ip6"] = args.ip6
    return extra
