"""mydocker save [-o FILE] IMAGE..."""

from __future__ import annotations

import argparse
import os
import sys

from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("save", "Save one or more images to a tar archive (docker save and OCI layout)")
    p.add_argument("-o", "--output", help="write to a file, instead of STDOUT")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.progress import Meter, MeteredWriter
    from mydocker.statemachine import images

    # every name checked before a byte is written; the bar's end: the images' unpacked size
    total = sum(int(images.resolve(ctx, ref).row["size"] or 0) for ref in dict.fromkeys(args.images))
    meter = Meter("Saving", total)
    try:
        if args.output is None:
            if os.isatty(1):
                raise UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
            images.save(ctx, args.images, MeteredWriter(sys.stdout.buffer, meter))  # type: ignore[arg-type]
            sys.stdout.flush()
            return 0
        tmp = f"{args.output}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                images.save(ctx, args.images, MeteredWriter(f, meter))  # type: ignore[arg-type]
            os.rename(tmp, args.output)  # a failed save leaves no half archive
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return 0
    finally:
        meter.close()
