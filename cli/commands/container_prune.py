"""mydocker container prune [-f] [--filter until=|label=]: remove every
container that is not running (created and exited ones)."""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("container prune", "Remove all stopped containers")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="provide filter values (e.g. 'until=<timestamp>')")
    return p


def prune(ctx: Context, filters: list[str]) -> tuple[list[str], int]:
    """Remove every stopped container the filters keep: (their ids, bytes reclaimed)."""
    from mydocker.cli.prune import matcher
    from mydocker.statemachine import lifecycle, queries
    from mydocker.statemachine.errors import UserError
    from mydocker.statemachine.machine import may

    match = matcher(filters)
    deleted, reclaimed = [], 0
    for view in queries.list_all(ctx.conn, include_stopped=True):
        if not may(view, "remove"):
            continue
        if not match(view.row["created_at"], view.config.get("labels") or {}):
            continue
        size = _upper_size(view.config.get("directory", ""))
        try:
            lifecycle.remove(ctx, view.id)
        except UserError:
            continue  # started meanwhile: docker skips it too
        deleted.append(view.id)
        reclaimed += size
    return deleted, reclaimed


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.prune import prompt_and_prune

    return prompt_and_prune(ctx, args.filter, args.force, "This will remove all stopped containers.",
                            "Containers", prune)


def _upper_size(directory: str) -> int:
    import os

    from mydocker.core.images import directory_size

    return directory_size(os.path.join(directory, "upper"))
