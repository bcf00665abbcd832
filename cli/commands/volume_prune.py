"""mydocker volume prune [-f] [--filter label=]: every volume no container uses."""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("volume prune", "Remove all unused local volumes")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="provide filter values (e.g. 'label=<label>')")
    return p


def prune(ctx: Context, filters: list[str]) -> tuple[list[str], int]:
    """Remove every unused volume the filters keep: (names removed, bytes freed)."""
    import json
    import os

    from mydocker.cli.prune import matcher
    from mydocker.statemachine import volumes
    from mydocker.statemachine.errors import UserError

    match = matcher(filters)
    deleted, reclaimed = [], 0
    for row in volumes.list_all(ctx.conn):
        if volumes.users(ctx.conn, row["id"]) or not match(row["created_at"], json.loads(row["labels"] or "{}")):
            continue
        size = sum(os.lstat(os.path.join(d, f)).st_size for d, _, files in os.walk(row["mountpoint"]) for f in files)
        try:
            volumes.remove(ctx, row["id"])
        except UserError:
            continue
        deleted.append(row["id"])
        reclaimed += size
    return deleted, reclaimed


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.prune import prompt_and_prune

    return prompt_and_prune(ctx, args.filter, args.force,
                            "This will remove all local volumes not used by at least one container.", "Volumes", prune)
