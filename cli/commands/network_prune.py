"""mydocker network prune [-f] [--filter until=|label=]: user networks no
container is configured on (bridge, host and none stay)."""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("network prune", "Remove all unused networks")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="provide filter values (e.g. 'until=<timestamp>')")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    import json

    from mydocker.cli.prune import confirm, matcher
    from mydocker.statemachine import networks
    from mydocker.statemachine.errors import UserError

    match = matcher(args.filter)
    if not confirm("This will remove all custom networks not used by at least one container.", args.force):
        return 0
    deleted = []
    for view in networks.list_all(ctx.conn):
        if view.name in networks.PREDEFINED or networks.containers_on(ctx.conn, view.id):
            continue
        labels = json.loads(view.row.get("config") or "{}").get("labels") or {}
        if not match(view.row["created_at"], labels):
            continue
        try:
            networks.remove(ctx, view.id)
        except UserError:
            continue
        deleted.append(view.name)
    if deleted:
        sys.stdout.write("Deleted Networks:\n" + "".join(f"{d}\n" for d in deleted) + "\n")
    return 0
