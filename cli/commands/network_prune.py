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


def prune(ctx: Context, filters: list[str]) -> list[str]:
    """Remove every unused user network the filters keep: their names."""
    from mydocker.cli.prune import matcher
    from mydocker.statemachine import networks
    from mydocker.statemachine.errors import UserError

    match = matcher(filters)
    deleted = []
    for view in networks.list_all(ctx.conn):
        if view.name in networks.PREDEFINED or networks.containers_on(ctx.conn, view.id):
            continue
        if not match(view.row["created_at"], view.labels):
            continue
        try:
            networks.remove(ctx, view.id)
        except UserError:
            continue
        deleted.append(view.name)
    return deleted


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.prune import confirm, matcher

    matcher(args.filter)  # a bad filter is refused before the prompt
    if not confirm("This will remove all custom networks not used by at least one container.", args.force):
        return 0
    deleted = prune(ctx, args.filter)
    if deleted:
        sys.stdout.write("Deleted Networks:\n" + "".join(f"{d}\n" for d in deleted) + "\n")
    return 0
