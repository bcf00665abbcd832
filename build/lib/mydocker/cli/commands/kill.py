"""mydocker kill [-s SIGNAL] CONTAINER..."""

from __future__ import annotations

import argparse
import signal

from mydocker.cli.parsing import Parser, parse_signal
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("kill", "Kill one or more running containers")
    p.add_argument("-s", "--signal", type=parse_signal, default=int(signal.SIGKILL), help="signal (default KILL)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.each import for_each
    from mydocker.statemachine import lifecycle

    def kill(ref: str) -> str:
        lifecycle.kill(ctx, ref, args.signal)
        return ref

    return for_each(args.containers, kill)
