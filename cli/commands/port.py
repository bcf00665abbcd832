"""mydocker port CONTAINER [PRIVATE_PORT[/PROTO]]"""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("port", "List port mappings or a specific mapping for the container")
    p.add_argument("container")
    p.add_argument("port", nargs="?", metavar="PRIVATE_PORT[/PROTO]")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.views import published
    from mydocker.statemachine import queries
    from mydocker.statemachine.errors import UserError

    view = queries.get(ctx.conn, args.container)
    ports = published(view)
    if args.port is None:
        # docker sorts the lines as strings: 100/tcp before 83/tcp
        lines = sorted(f"{p['container_port']}/{p['proto']} -> {p.get('host_ip') or '0.0.0.0'}:{p['host_port']}"
                       for p in ports)
        sys.stdout.write("".join(line + "\n" for line in lines))
        return 0
    number, _, proto = args.port.partition("/")
    proto = proto or "tcp"
    if not number.isdecimal() or not 0 < int(number) < 65536 or proto not in ("tcp", "udp", "sctp"):
        raise UsageError(f"Invalid port: {args.port}" if number.isdecimal() else f"Invalid containerPort: {number}")
    found = [p for p in ports if int(p["container_port"]) == int(number) and p["proto"] == proto]
    if not found:
        raise UserError(f"No public port '{int(number)}/{proto}' published for {args.container}")
    sys.stdout.write("".join(f"{p.get('host_ip') or '0.0.0.0'}:{p['host_port']}\n" for p in found))
    return 0
