"""mydocker stop [-t SECONDS] CONTAINER..."""

from __future__ import annotations

import argparse
import sys

from cli.parsing import Parser, parse_timeout
from statemachine.context import Context


def parser() -> Parser:
    p = Parser("stop", "Stop one or more running containers")
    p.add_argument("-t", "--time", "--timeout", type=parse_timeout, default=10.0,
                   help="seconds to wait before killing it (default 10)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from statemachine import lifecycle
    from statemachine.errors import UserError

    code = 0
    for ref in args.containers:
        try:
            lifecycle.stop(ctx, ref, args.time)
            print(ref)
        except UserError as exc:
            sys.stderr.write(f"Error: {exc}\n")
            code = 1
    return code
