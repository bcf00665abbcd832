"""mydocker import [-m MESSAGE] [-c CHANGE] file|- [REPOSITORY[:TAG]]"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from typing import Any

from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("import", "Import the contents from a tarball to create a filesystem image")
    p.add_argument("-m", "--message", default="", help="commit message for the imported image")
    p.add_argument("-c", "--change", action="append", default=[],
                   help="apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR")
    p.add_argument("file", help="a tar archive (gzip or not), or - for STDIN")
    p.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")
    return p


def parse_changes(changes: list[str]) -> dict[str, Any]:
    """The few Dockerfile instructions an image config holds."""
    out: dict[str, Any] = {}
    for change in changes:
        keyword, _, value = change.strip().partition(" ")
        keyword, value = keyword.upper(), value.strip()
        if keyword in ("CMD", "ENTRYPOINT"):
            try:
                parsed = json.loads(value) if value.startswith("[") else ["/bin/sh", "-c", value]
            except ValueError:
                raise UsageError(f"invalid {keyword}: {value}") from None
            out["cmd" if keyword == "CMD" else "entrypoint"] = parsed
        elif keyword == "ENV":
            key, eq, val = value.partition("=")
            if not eq:
                key, _, val = value.partition(" ")
            out.setdefault("env", ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
            out["env"].append(f"{key}={val}")
        elif keyword == "WORKDIR":
            out["workdir"] = value
        else:
            raise UsageError(f"{keyword} is not a valid change command")
    return out


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import images

    changes = parse_changes(args.change)
    cmd = changes.pop("cmd", None)
    if args.file == "-":
        image = images.import_tarball(ctx, sys.stdin.buffer, args.reference, args.message,
                                      {**changes, "cmd": cmd}, source="-")
    else:
        try:
            f = open(args.file, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise UsageError(f"open {args.file}: {(exc.strerror or '').lower()}") from None
        from mydocker.cli.progress import Meter, MeteredReader

        meter = Meter("Importing", os.fstat(f.fileno()).st_size)
        try:
            with f:
                reader = io.BufferedReader(MeteredReader(f, meter)) if meter.on else f
                image = images.import_tarball(ctx, reader, args.reference, args.message, {**changes, "cmd": cmd},
                                              source=args.file)
        finally:
            meter.close()
    print(image.id)
    return 0
