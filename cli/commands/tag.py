"""mydocker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
    p.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    p.add_argument("target", metavar="TARGET_IMAGE[:TAG]")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import images

    images.tag(ctx, args.source, args.target)
    return 0
