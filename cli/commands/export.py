"""mydocker export [-o FILE] CONTAINER"""

from __future__ import annotations

import argparse
import os
import sys

from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("export", "Export a container's filesystem as a tar archive")
    p.add_argument("-o", "--output", help="write to a file, instead of STDOUT")
    p.add_argument("container")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import images, queries

    queries.get(ctx.conn, args.container)  # unknown container: error before any output file
    if args.output is None:
        if os.isatty(1):
            raise UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        sys.stdout.flush()
        images.export_container(ctx, args.container, 1)
        return 0
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        images.export_container(ctx, args.container, fd)
    finally:
        os.close(fd)
    return 0
