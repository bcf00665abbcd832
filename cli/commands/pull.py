"""mydocker pull [-a] [-q] [--platform OS/ARCH[/VARIANT]] NAME[:TAG|@DIGEST]"""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("pull", "Download an image from a registry")
    p.add_argument("-a", "--all-tags", action="store_true", help="download all tagged images in the repository")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress verbose output")
    p.add_argument("--platform", help="set platform if server is multi-platform capable (os/arch[/variant])")
    p.add_argument("name", metavar="NAME[:TAG|@DIGEST]")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.pulling import pull_all_tags, pull_with_progress

    pull = pull_all_tags if args.all_tags else pull_with_progress
    full = pull(ctx, args.name, args.platform, sys.stdout, args.quiet)
    print(full)
    return 0
