"""mydocker rm [-f] CONTAINER..."""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("rm", "Remove one or more containers")
    p.add_argument("-f", "--force", action="store_true", help="kill a running container first")
    p.add_argument("-v", "--volumes", action="store_true", help="remove the container's anonymous volumes")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def frees_space(args: argparse.Namespace) -> bool:
    return True


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.each import for_each
    from mydocker.statemachine import lifecycle
    from mydocker.statemachine.errors import NoSuchContainer

    def remove(ref: str) -> str:
        lifecycle.remove(ctx, ref, force=args.force, remove_volumes=args.volumes)
        return ref

    # docker: rm -f of a missing container is quietly fine
    return for_each(args.containers, remove, skip=NoSuchContainer if args.force else None)
