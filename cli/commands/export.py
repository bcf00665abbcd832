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
    from mydocker.statemachine import queries

    queries.get(ctx.conn, args.container)  # unknown container: error before any output file
    if args.output is None:
        if os.isatty(1):
            raise UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        sys.stdout.flush()
        _export(ctx, args.container, 1)
        return 0
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _export(ctx, args.container, fd)
    finally:
        os.close(fd)
    return 0


def _export(ctx: Context, container: str, out_fd: int) -> None:
    """On a terminal's stderr, the bytes going by: the tar passes through a pipe
    that a thread copies on to out_fd, counting (the total is not known ahead)."""
    import threading

    from mydocker.cli.progress import Meter
    from mydocker.statemachine import images

    meter = Meter("Exporting", 0)
    if not meter.on:
        images.export_container(ctx, container, out_fd)
        return
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    failure: list[OSError] = []

    def pump() -> None:
        try:
            while chunk := os.read(read_end, 1 << 20):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out_fd, view):]
                meter.add(len(chunk))
        except OSError as exc:
            failure.append(exc)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        images.export_container(ctx, container, write_end)
    finally:
        os.close(write_end)
        thread.join()
        os.close(read_end)
        meter.close()
    if failure:
        raise failure[0]
