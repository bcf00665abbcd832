"""mydocker pause CONTAINER..."""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("pause", "Pause all processes within one or more containers")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.each import for_each
    from mydocker.statemachine import lifecycle

    def pause(ref: str) -> str:
        lifecycle.pause(ctx, ref)
        return ref

    return for_each(args.containers, pause)
