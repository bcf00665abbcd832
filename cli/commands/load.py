"""mydocker load [-i FILE] [-q]"""

from __future__ import annotations

import argparse
import os
import sys

from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("load", "Load an image from a tar archive (docker save or OCI layout)")
    p.add_argument("-i", "--input", help="read from a tar archive file, instead of STDIN")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress the load output")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import images

    progress = None
    if not args.quiet and sys.stdout.isatty():  # docker: the layers' bars on a terminal only
        from mydocker.cli.progress import Printer

        printer = Printer(sys.stdout, True)

        def progress(short: str, done: int, total: int) -> None:
            printer(short, "Loading layer", done, total)

    if args.input is None:
        if os.isatty(0):
            raise UsageError("requested load from stdin, but stdin is empty")
        loaded = images.load(ctx, sys.stdin.buffer, progress)
    else:
        try:
            f = open(args.input, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise UsageError(f"open {args.input}: {(exc.strerror or '').lower()}") from None
        with f:
            loaded = images.load(ctx, f, progress)
    if not args.quiet:
        for image, tags in loaded:
            for tag in tags:
                print(f"Loaded image: {tag}")
            if not tags:
                print(f"Loaded image ID: {image.id}")
    return 0
