"""mydocker images [-a] [-q] [--no-trunc] [--filter K=V]... [--format F] [REPOSITORY[:TAG]]"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from collections.abc import Callable
from typing import Any

from mydocker.cli.asof import add_flag
from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import UserError

DEFAULT_FORMAT = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
DIGESTS_FORMAT = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "CreatedSince": "CREATED",
           "CreatedAt": "CREATED AT", "Size": "SIZE", "Digest": "DIGEST", "Containers": "CONTAINERS",
           "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE"}
FILTER_KEYS = ("dangling", "label", "before", "since", "reference")


def parser() -> Parser:
    p = Parser("images", "List images")
    p.add_argument("-a", "--all", action="store_true", help="show all images (default hides intermediate images)")
    p.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("--digests", action="store_true", help="show digests")
    p.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="dangling=true|false, label=KEY[=VALUE], before=IMAGE, since=IMAGE, reference=PATTERN")
    p.add_argument("--format", help="'table', 'table TEMPLATE' or a Go template")
    p.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")
    add_flag(p)
    return p


def parse_filters(texts: list[str]) -> dict[str, list[str]]:
    from mydocker.cli import list_filters

    return list_filters.parse(texts, FILTER_KEYS)


def _matches_reference(tag: str, pattern: str) -> bool:
    """docker's reference filter: a glob over `repo:tag`, or over `repo` alone."""
    repo = tag.rpartition(":")[0]
    return fnmatch.fnmatchcase(tag, pattern) or fnmatch.fnmatchcase(repo, pattern)  # docker's FamiliarMatch


def _select(ctx: Context, filters: dict[str, list[str]]) -> Callable[[Any, str | None], bool]:
    from mydocker.statemachine import images

    marks: dict[str, list[str]] = {}
    for key in ("before", "since"):
        for ref in filters.get(key, []):
            found = images.find(ctx.conn, ref)
            if found is None:
                raise UserError(f"No such image: {images.normalize(ref)}")
            marks.setdefault(key, []).append(found.row["created_at"])

    def keep(image: Any, tag: str | None) -> bool:
        created = image.row["created_at"]
        if any(not created < mark for mark in marks.get("before", [])):
            return False
        if any(not created > mark for mark in marks.get("since", [])):
            return False
        if "dangling" in filters:
            dangling = not image.tags
            if not any(dangling == (v.lower() in ("true", "1")) for v in filters["dangling"]):
                return False
        if "label" in filters:
            labels = (image.config.get("config") or {}).get("Labels") or {}
            if not all(_label(labels, want) for want in filters["label"]):
                return False
        if "reference" in filters:
            if tag is None or not any(_matches_reference(tag, p) for p in filters["reference"]):
                return False
        return True

    return keep


def _label(labels: dict[str, str], want: str) -> bool:
    key, eq, value = want.partition("=")
    return key in labels and (not eq or labels[key] == value)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template
    from mydocker.cli.humanize import created_at, human_duration, human_size, since
    from mydocker.statemachine import images

    filters = parse_filters(args.filter)
    if args.reference:
        filters.setdefault("reference", []).append(args.reference)
    if args.at:
        from mydocker.cli.asof import travel

        travel(ctx.conn, args.at)
    elif not images.default_ever_built(ctx.conn):
        images.ensure_default(ctx)
    keep = _select(ctx, filters)
    rows = []
    intermediate = set() if args.all else images.build_parents(ctx.conn)
    digests: dict[str, dict[str, str]] = {}
    if args.digests or (args.format and "Digest" in args.format):
        from mydocker.statemachine.image_origins import repo_digests

        digests = repo_digests(ctx)
    for image in images.list_images(ctx.conn):
        if not image.tags and image.id in intermediate:
            continue
        short = image.id if args.no_trunc else image.id.split(":", 1)[1][:12]
        created = human_duration(since(image.row["created_at"])) + " ago"
        known = digests.get(image.id, {})
        tags: list[str | None] = list(image.tags) or [None]
        for tag in tags:
            if not keep(image, tag):
                continue
            repo, _, name = (tag or "<none>:<none>").rpartition(":")
            size = human_size(image.row["size"])
            # pulled by digest only: docker shows each repository with its digest and tag <none>
            pairs = list(known.items()) if tag is None and known else [(repo, known.get(repo, "<none>"))]
            for shown_repo, digest in pairs:
                rows.append(template.Struct(
                    ID=short, Repository=shown_repo, Tag=name, Digest=digest, CreatedSince=created,
                    CreatedAt=created_at(image.row["created_at"]), Size=size, Containers="N/A",
                    SharedSize="N/A", UniqueSize="N/A", VirtualSize=size))
    if args.quiet:
        # docker prints the id of every row it would show: an image with two tags twice
        sys.stdout.write("".join(f"{r['ID']}\n" for r in rows))
        return 0
    for row in rows:
        row.go_type = "*formatter.imageContext"
    default = DIGESTS_FORMAT if args.digests else DEFAULT_FORMAT
    sys.stdout.write(template.format_list(args.format, rows, default, HEADERS))
    return 0
