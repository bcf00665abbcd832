"""mydocker images [-q] [--no-trunc]"""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("images", "List images")
    p.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("--digests", action="store_true", help="show digests")
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
    rows = [["REPOSITORY", "TAG", *(["DIGEST"] if args.digests else []), "IMAGE ID", "CREATED", "SIZE"]]
    seen = []
    digests: dict[str, dict[str, str]] = {}
    if args.digests:
        from mydocker.statemachine.image_origins import repo_digests

        digests = repo_digests(ctx)
    for image in images.list_images(ctx.conn):
        short = image.id if args.no_trunc else image.id.split(":", 1)[1][:12]
        seen.append(short)
        created = human_duration(since(image.row["created_at"])) + " ago"
        known = digests.get(image.id, {})
        for tag in image.tags or ["<none>:<none>"]:
            repo, _, name = tag.rpartition(":")
            digest = [known.get(repo, "<none>")] if args.digests else []
            rows.append([repo, name, *digest, short, created, human_size(image.row["size"])])
        if args.digests and not image.tags:  # pulled by digest: docker shows repo <none> digest
            rows[-1:] = [[repo, "<none>", d, short, created, human_size(image.row["size"])]
                         for repo, d in known.items()] or rows[-1:]
    if args.quiet:
        sys.stdout.write("".join(f"{s}\n" for s in dict.fromkeys(seen)))
    else:
        sys.stdout.write(template.table(rows))
    return 0
