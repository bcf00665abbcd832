"""mydocker push [-q] NAME[:TAG]"""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("push", "Upload an image to a registry")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress verbose output")
    p.add_argument("name", metavar="NAME[:TAG]")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.progress import Printer
    from mydocker.statemachine import push

    def announce(line: str) -> None:
        print(line, flush=True)

    printer = None if args.quiet else Printer(sys.stdout, sys.stdout.isatty())
    result = push.push(ctx, args.name, printer, None if args.quiet else announce)
    if args.quiet:
        from mydocker.statemachine.pull import parse_reference

        print(parse_reference(args.name).full)
    else:
        print(f"{result.tag}: digest: {result.digest} size: {result.size}")
    return 0
