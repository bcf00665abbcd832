"""mydocker wait CONTAINER..."""

from __future__ import annotations

import argparse
import sys

from cli.parsing import Parser
from statemachine.context import Context


def parser() -> Parser:
    p = Parser("wait", "Block until one or more containers stop, then print their exit codes")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from statemachine import lifecycle
    from statemachine.errors import UserError

    code = 0
    for ref in args.containers:
        try:
            print(lifecycle.wait(ctx, ref), flush=True)
        except UserError as exc:
            sys.stderr.write(f"Error: {exc}\n")
            code = 1
    return code
