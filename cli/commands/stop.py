"""mydocker stop [-t SECONDS] CONTAINER..."""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser, parse_timeout
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("stop", "Stop one or more running containers")
    p.add_argument("-t", "--time", "--timeout", type=parse_timeout, default=None,
                   help="seconds to wait before killing it (default: its --stop-timeout, else 10)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.each import for_each
    from mydocker.statemachine import lifecycle

    def stop(ref: str) -> str:
        lifecycle.stop(ctx, ref, args.time)
        return ref

    return for_each(args.containers, stop)
