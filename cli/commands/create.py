"""mydocker create [OPTIONS] IMAGE [COMMAND] [ARG...]"""

from __future__ import annotations

import argparse

from mydocker.cli.container_flags import add_create_flags, create_options
from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("create", "Create a new container", add_help=False)
    add_create_flags(p)
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.pulling import ensure_image
    from mydocker.statemachine import lifecycle

    options = create_options(args)
    ensure_image(ctx, args.image, args.pull, args.platform)
    view = lifecycle.create(ctx, options)
    if args.cidfile:
        from mydocker.cli.run_flags import write_cidfile

        write_cidfile(args.cidfile, view.id)
    print(view.id)
    return 0
