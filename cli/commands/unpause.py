"""mydocker unpause CONTAINER..."""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("unpause", "Unpause all processes within one or more containers")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.each import for_each
    from mydocker.statemachine import lifecycle

    def unpause(ref: str) -> str:
        lifecycle.unpause(ctx, ref)
        return ref

    return for_each(args.containers, unpause)
