"""mydocker commit [-m MESSAGE] [-a AUTHOR] [--pause=false] CONTAINER [REPOSITORY[:TAG]]"""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("commit", "Create a new image from a container's changes")
    p.add_argument("-m", "--message", default="", help="commit message")
    p.add_argument("-a", "--author", default="", help='author (e.g. "John <john@example.com>")')
    p.add_argument("-p", "--pause", default="true", choices=["true", "false"], nargs="?", const="true",
                   help="pause the container during commit (default true)")
    p.add_argument("container")
    p.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.progress import Meter
    from mydocker.statemachine import images

    meter = Meter("Committing", 0)

    def progress(done: int, total: int) -> None:
        meter.total = total
        meter.add(done - meter.done)

    try:
        image = images.commit_container(ctx, args.container, args.repository, args.message, args.author,
                                        pause=args.pause == "true", progress=progress if meter.on else None)
    finally:
        meter.close()
    print(image.id)
    return 0
