"""mydocker push [-a] [-q] NAME[:TAG]"""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("push", "Upload an image to a registry")
    p.add_argument("-a", "--all-tags", action="store_true", help="push all tagged images in the repository")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress verbose output")
    p.add_argument("name", metavar="NAME[:TAG]")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.progress import Printer
    from mydocker.core import registry_names
    from mydocker.statemachine import push
    from mydocker.statemachine.pull import parse_reference

    announced: list[str] = []

    def announce(line: str) -> None:
        if not announced:  # once for the repository, however many tags go
            announced.append(line)
            print(line, flush=True)

    if args.all_tags:
        repository, tags = push.local_tags(ctx, args.name)
        names = [f"{repository}:{tag}" for tag in tags]
    else:
        names = [args.name]
        try:
            given = registry_names.parse(args.name, default_tag=False)
        except registry_names.BadReference:
            given = None  # push's own check says it in docker's words
        if given is not None and not given.tag and not given.digest and not args.quiet:
            print(f"Using default tag: {registry_names.DEFAULT_TAG}", flush=True)
    for name in names:
        printer = None if args.quiet else Printer(sys.stdout, sys.stdout.isatty())
        result = push.push(ctx, name, printer, None if args.quiet else announce)
        if not args.quiet:
            print(f"{result.tag}: digest: {result.digest} size: {result.size}", flush=True)
    if args.quiet:
        print(parse_reference(args.name).repository if args.all_tags else parse_reference(args.name).full)
    return 0
