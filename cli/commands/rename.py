"""mydocker rename CONTAINER NEW_NAME"""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("rename", "Rename a container")
    p.add_argument("args", nargs="*", metavar="CONTAINER NEW_NAME")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import lifecycle
    from mydocker.statemachine.errors import UserError

    if len(args.args) != 2:
        raise UserError('"rename" requires exactly 2 arguments.')
    old, new = args.args
    if not new.strip():
        raise UserError("Neither old nor new names may be empty")
    lifecycle.rename(ctx, old, new)
    return 0
