"""mydocker kill [-s SIGNAL] CONTAINER..."""

from __future__ import annotations

import argparse
import signal
import sys

from cli.parsing import Parser, parse_signal
from statemachine.context import Context


def parser() -> Parser:
    p = Parser("kill", "Kill one or more running containers")
    p.add_argument("-s", "--signal", type=parse_signal, default=int(signal.SIGKILL), help="signal (default KILL)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from statemachine import lifecycle
    from statemachine.errors import UserError

    code = 0
    for ref in args.containers:
        try:
            lifecycle.kill(ctx, ref, args.signal)
            print(ref)
        except UserError as exc:
            sys.stderr.write(f"Error: {exc}\n")
            code = 1
    return code
