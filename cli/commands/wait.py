"""mydocker wait CONTAINER..."""

from __future__ import annotations

import argparse

from cli.parsing import Parser
from statemachine.context import Context


def parser() -> Parser:
    p = Parser("wait", "Block until one or more containers stop, then print their exit codes")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from cli.each import for_each
    from statemachine import lifecycle

    return for_each(args.containers, lambda ref: lifecycle.wait(ctx, ref))
