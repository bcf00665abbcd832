"""`-p/--publish [hostip:]hostport:containerport[/tcp|udp]`, docker's syntax.

`containerport` alone (or `hostip::containerport`) asks for a free host port: host_port 0
here, picked by cli.run_flags.publish. Ranges `8080-8081:80-81` map one to one.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from mydocker.cli.parsing import UsageError

PROTOCOLS = ("tcp", "udp")


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"invalid port {text!r} in -p {spec}: must be 1-65535")
    return int(text)


def _range(text: str, spec: str) -> list[int]:
    first, dash, last = text.partition("-")
    start = _port(first, spec)
    end = _port(last, spec) if dash else start
    if end < start:
        raise UsageError(f"invalid port range {text!r} in -p {spec}")
    return list(range(start, end + 1))


def parse_publish(spec: str) -> list[dict[str, Any]]:
    """One -p value as bindings {host_ip, host_port, container_port, proto}."""
    body, slash, proto = spec.strip().partition("/")
    proto = proto.lower() if slash else "tcp"
    if proto not in PROTOCOLS:
        raise UsageError(f"invalid protocol {proto!r} in -p {spec}: tcp or udp")
    host_ip = ""
    if body.count(":") == 2:
        host_ip, _, body = body.partition(":")
        try:
            if not isinstance(ipaddress.ip_address(host_ip), ipaddress.IPv4Address):
                raise ValueError
        except ValueError:
            raise UsageError(f"invalid host IP {host_ip!r} in -p {spec}: an IPv4 address") from None
        if host_ip == "0.0.0.0":
            host_ip = ""  # all of the host's addresses: the same as none
    if body.count(":") > 1:
        raise UsageError(f"invalid publish spec {spec!r}: want [hostip:]hostport:containerport[/tcp|udp]")
    host, _, container = body.rpartition(":")
    if not re.fullmatch(r"\d+(-\d+)?", container, re.ASCII):
        raise UsageError(f"Invalid containerPort: {container}")
    container_ports = _range(container, spec)
    if not host:
        return [{"host_ip": host_ip, "host_port": 0, "container_port": c, "proto": proto} for c in container_ports]
    host_ports = _range(host, spec)
    if len(host_ports) != len(container_ports):
        raise UsageError(f"invalid publish spec {spec!r}: the two port ranges differ in size")
    return [{"host_ip": host_ip, "host_port": h, "container_port": c, "proto": proto}
            for h, c in zip(host_ports, container_ports, strict=True)]


def parse_all(specs: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for spec in specs:
        out += parse_publish(spec)
    return out


def format_ports(ports: list[dict[str, Any]]) -> str:
    """ps's PORTS column: 0.0.0.0:8080->80/tcp, ..."""
    return ", ".join(f"{p.get('host_ip') or '0.0.0.0'}:{p['host_port']}->{p['container_port']}/{p['proto']}"
                     for p in ports)
