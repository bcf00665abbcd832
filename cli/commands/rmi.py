"""mydocker rmi [-f] [--no-prune] IMAGE..."""

from __future__ import annotations

import argparse

from mydocker.cli.errors import report
from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("rmi", "Remove one or more images")
    p.add_argument("-f", "--force", action="store_true", help="force removal of the image")
    p.add_argument("--no-prune", action="store_true", help="do not delete untagged parents")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    return p


def frees_space(args: argparse.Namespace) -> bool:
    return True


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import images
    from mydocker.statemachine.errors import UserError

    code = 0
    for ref in args.images:
        try:
            for line in images.remove(ctx, ref, force=args.force, prune=not args.no_prune):
                print(line)
        except UserError as exc:
            report(exc)
            code = 1
    return code
