"""mydocker build [OPTIONS] PATH | -"""

from __future__ import annotations

import argparse
import os
import sys

from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("build", "Build an image from a Dockerfile")
    p.add_argument("-t", "--tag", action="append", default=[], help="name and optionally a tag, name:tag")
    p.add_argument("-f", "--file", help="name of the Dockerfile (default PATH/Dockerfile)")
    p.add_argument("--build-arg", action="append", default=[], help="set build-time variables")
    p.add_argument("--target", help="set the target build stage to build")
    p.add_argument("--no-cache", action="store_true", help="do not use cache when building the image")
    p.add_argument("--rm", default="true", choices=["true", "false"], nargs="?", const="true",
                   help="remove intermediate containers after a successful build (default true)")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress the build output and print image ID on success")
    p.add_argument("--network", default="bridge", help="networking mode for the RUN instructions (default bridge)")
    p.add_argument("--label", action="append", default=[], help="set metadata for an image")
    p.add_argument("--pull", action="store_true", help="always attempt to pull a newer version of the image")
    p.add_argument("--iidfile", help="write the image ID to the file")
    p.add_argument("path", metavar="PATH")
    return p


def _build_args(items: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        key, eq, value = item.partition("=")
        # docker: `--build-arg KEY` takes KEY's value from the environment, if set
        out[key] = value if eq else os.environ.get(key)
    return out


def _labels(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key:
            raise UsageError(f'invalid argument "{item}" for "--label" flag: label name can not be empty')
        out[key] = value
    return out


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import build

    labels = _labels(args.label)
    if args.iidfile:  # docker: a failed build leaves no stale id behind
        try:
            os.unlink(args.iidfile)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise build.BuildError(f"Removing image ID file: {exc.strerror or exc}") from None

    if args.path == "-":
        if args.file and args.file != "-":
            raise UsageError("a Dockerfile from stdin (-) takes no -f")
        context = None
        text = sys.stdin.read()
    else:
        context = os.path.abspath(args.path)
        if not os.path.isdir(context):
            raise build.BuildError(f'unable to prepare context: path "{args.path}" not found')
        path = os.path.abspath(args.file) if args.file else os.path.join(context, "Dockerfile")
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise build.BuildError("unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                                   f"lstat {path}: {exc.strerror.lower() if exc.strerror else exc}") from None

    def out(line: str) -> None:
        if not args.quiet:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    options = build.BuildOptions(context=context, dockerfile_text=text, tags=args.tag,
                                 build_args=_build_args(args.build_arg), target=args.target,
                                 no_cache=args.no_cache, remove=args.rm == "true", quiet=args.quiet,
                                 network=args.network, labels=labels, pull=args.pull)
    result = build.build(ctx, options, out)
    if args.iidfile:
        try:
            with open(args.iidfile, "w", encoding="utf-8") as f:
                f.write(result.image_id)
        except OSError as exc:
            raise build.BuildError(f"Cannot write image ID file: {exc.strerror or exc}") from None
    if args.quiet:
        print(result.image_id)
    return 0
