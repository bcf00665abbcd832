"""mydocker images [-q] [--no-trunc]"""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("images", "List images")
    p.add_argument("-a", "--all", action="store_true", help="show all images (default hides intermediate images)")
    p.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    return p


def human_size(size: int) -> str:
    """docker's HumanSize: decimal units, 3 significant digits."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000:
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}PB"


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template
    from mydocker.cli.humanize import human_duration, since
    from mydocker.statemachine import images

    if images.find(ctx.conn, images.DEFAULT_IMAGE) is None:
        images.ensure_default(ctx)
    rows = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]]
    seen = []
    intermediate = set() if args.all else images.build_parents(ctx.conn)
    for image in images.list_images(ctx.conn):
        if not image.tags and image.id in intermediate:
            continue
        short = image.id if args.no_trunc else image.id.split(":", 1)[1][:12]
        seen.append(short)
        created = human_duration(since(image.row["created_at"])) + " ago"
        for tag in image.tags or ["<none>:<none>"]:
            repo, _, name = tag.rpartition(":")
            rows.append([repo, name, short, created, human_size(image.row["size"])])
    if args.quiet:
        sys.stdout.write("".join(f"{s}\n" for s in dict.fromkeys(seen)))
    else:
        sys.stdout.write(template.table(rows))
    return 0
