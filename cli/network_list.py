"""network ls: docker's columns, filters (driver, id, label, name, scope, type,
dangling), --format, -q and --no-trunc."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mydocker.statemachine.context import Context

DEFAULT_FORMAT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
           "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT", "Subnet": "SUBNET",
           "Bridge": "BRIDGE", "Label": None}
BUILTIN = ("bridge", "host", "none")


def select(ctx: Context, texts: list[str]) -> list[Any]:
    """The networks docker's filters (`key=value` texts) keep; the API's list too."""
    from mydocker.cli import list_filters
    from mydocker.statemachine import networks

    filters = list_filters.parse(texts, ("driver", "id", "label", "name", "scope", "type", "dangling"))
    for value in filters.get("type", []):
        if value not in ("custom", "builtin"):
            from mydocker.statemachine.errors import UserError

            raise UserError(f"invalid filter: 'type'='{value}'")
    views = networks.with_predefined(ctx)

    def dangling(view: Any) -> bool:
        return view.name not in BUILTIN and not networks.containers_on(ctx.conn, view.id)

    matchers: dict[str, Any] = {
        "driver": lambda v, x: v.row["driver"] == x,
        "id": lambda v, x: v.id.startswith(x),
        "label": lambda v, x: list_filters.label_matches(v.labels, x),
        "name": lambda v, x: x in v.name,
        "scope": lambda v, x: x == "local",
        "type": lambda v, x: (v.name in BUILTIN) == (x == "builtin"),
        "dangling": lambda v, x: dangling(v) == list_filters.BOOLS[x.lower()],
    }
    return list_filters.select(views, filters, matchers)


def list_networks(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template
    from mydocker.cli.humanize import created_at

    views = select(ctx, args.filter)
    if args.quiet:
        sys.stdout.write("".join((v.id if args.no_trunc else v.id[:12]) + "\n" for v in views))
        return 0
    rows = []
    for v in views:
        own = v.labels
        row = template.Struct(
            ID=v.id if args.no_trunc else v.id[:12], Name=v.name, Driver=v.row["driver"], Scope="local",
            IPv6="false", Internal="false", Labels=",".join(f"{k}={x}" for k, x in sorted(own.items())),
            Label=lambda key, own=own: own.get(key, ""), CreatedAt=created_at(v.row["created_at"]),
            Subnet=v.row["subnet"], Bridge=v.bridge)
        row.go_type = "*formatter.networkContext"
        rows.append(row)
    sys.stdout.write(template.format_list(args.format, rows, DEFAULT_FORMAT, HEADERS))
    return 0
