"""mydocker rm [-f] CONTAINER..."""

from __future__ import annotations

import argparse
import sys

from cli.parsing import Parser
from statemachine.context import Context


def parser() -> Parser:
    p = Parser("rm", "Remove one or more containers")
    p.add_argument("-f", "--force", action="store_true", help="kill a running container first")
    p.add_argument("-v", "--volumes", action="store_true", help="remove the container's anonymous volumes")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from statemachine import lifecycle
    from statemachine.errors import NoSuchContainer, UserError

    code = 0
    for ref in args.containers:
        try:
            lifecycle.remove(ctx, ref, force=args.force, remove_volumes=args.volumes)
            print(ref)
        except NoSuchContainer:
            if not args.force:  # docker: rm -f of a missing container is quietly fine
                sys.stderr.write(f"Error: No such container: {ref}\n")
                code = 1
        except UserError as exc:
            sys.stderr.write(f"Error: {exc}\n")
            code = 1
    return code
