"""mydocker diff CONTAINER: A/C/D lines, from the container's upper dir."""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("diff", "Inspect changes to files or directories on a container's filesystem")
    p.add_argument("container")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    import os

    from mydocker.core.changes import changes
    from mydocker.statemachine import queries

    config = queries.get(ctx.conn, args.container).config
    found = changes(os.path.join(config["directory"], "upper"), config["spec"].get("layers", []))
    sys.stdout.write("".join(f"{kind} {path}\n" for kind, path in found))
    return 0
