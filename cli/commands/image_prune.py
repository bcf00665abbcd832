"""mydocker image prune [-a] [-f] [--filter until=|label=]: dangling images
(no tag), or with -a every image no container uses."""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.core import timestamps
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("image prune", "Remove unused images")
    p.add_argument("-a", "--all", action="store_true", help="remove all unused images, not just dangling ones")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="provide filter values (e.g. 'until=<timestamp>')")
    return p


def prune(ctx: Context, filters: list[str], everything: bool) -> tuple[list[str], int]:
    """Remove the dangling (or, everything, all unused) images the filters keep:
    (docker's "untagged: ..." / "deleted: ..." lines, bytes freed)."""
    from mydocker.cli.prune import matcher
    from mydocker.statemachine import images
    from mydocker.statemachine.errors import UserError

    match = matcher(filters)
    lines, reclaimed = [], 0
    for image in images.list_images(ctx.conn):
        if (image.tags and not everything) or images.users(ctx.conn, image.id) or _has_children(ctx, image.id):
            continue  # a build step's image under a later step's is docker's intermediate, not dangling
        created = image.row["created_at"]
        if not match(created if created.endswith("Z") and "." in created else _iso(created),
                     image.config.get("config", {}).get("Labels") or {}):
            continue
        try:
            removed = images.remove(ctx, image.id, force=True)
        except UserError:
            continue
        lines += [line[0].lower() + line[1:] for line in removed]
        reclaimed += int(image.row["size"] or 0)
    return lines, reclaimed


def prune_build_cache(ctx: Context, filters: list[str]) -> tuple[list[str], int]:
    """The build cache as the classic builder keeps it (statemachine/build.py): the
    untagged images of build steps that no container uses; remove those the filters
    keep: (their ids, bytes freed). After an image prune there are none left."""
    from mydocker.cli.prune import matcher
    from mydocker.statemachine import images
    from mydocker.statemachine.errors import UserError

    match = matcher(filters)
    steps = {r[0] for r in ctx.conn.execute("SELECT DISTINCT stream_id FROM events "
                                              "WHERE stream_type = 'image' AND type = 'build'")}
    deleted, reclaimed = [], 0
    for image in images.list_images(ctx.conn):
        if image.id not in steps or image.tags or images.users(ctx.conn, image.id) or _has_children(ctx, image.id):
            continue
        if not match(_iso(image.row["created_at"]), image.config.get("config", {}).get("Labels") or {}):
            continue
        try:
            removed = images.remove(ctx, image.id, force=True)
        except UserError:
            continue  # gone with a child removed before it
        deleted += [line.split(": ", 1)[1] for line in removed if line.startswith("Deleted: ")]
        reclaimed += int(image.row["size"] or 0)
    return deleted, reclaimed


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.prune import confirm, matcher
    from mydocker.cli.sizes import human_size

    matcher(args.filter)  # a bad filter is refused before the prompt
    warning = ("This will remove all images without at least one container associated to them." if args.all
               else "This will remove all dangling images.")
    if not confirm(warning, args.force):
        print("Total reclaimed space: 0B")
        return 0
    lines, reclaimed = prune(ctx, args.filter, args.all)
    if lines:
        sys.stdout.write("Deleted Images:\n" + "".join(f"{line}\n" for line in lines) + "\n")
    print(f"Total reclaimed space: {human_size(reclaimed)}")
    return 0


def _has_children(ctx: Context, image_id: str) -> bool:
    """An image a build step of an image still there was built on: it goes with that
    image (statemachine.images.remove prunes parents), not before it."""
    return ctx.conn.execute(
        "SELECT 1 FROM events JOIN images ON images.id = events.stream_id "
        "WHERE events.stream_type = 'image' AND events.type = 'build' "
        "AND json_extract(events.payload, '$.parent') = ? LIMIT 1", (image_id,)).fetchone() is not None


def _iso(stamp: str) -> str:
    """Image times come from configs in several spellings; the prune filter reads one."""
    return timestamps.from_rfc3339(stamp) or timestamps.EPOCH
