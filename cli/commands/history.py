"""mydocker history IMAGE: one row per history entry (empty layers too), newest
first, as docker prints them. (A container's whole life is `mydocker container history`.)"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mydocker.cli.parsing import Parser
from mydocker.core import timestamps
from mydocker.statemachine.context import Context

DEFAULT_FORMAT = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
           "Size": "SIZE", "Comment": "COMMENT"}


def parser() -> Parser:
    p = Parser("history", "Show the history of an image")
    p.add_argument("--format", help="pretty-print images using a Go template")
    p.add_argument("-H", "--human", default="true", help="print sizes and dates in human readable format")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    p.add_argument("image")
    return p


def rows(image: Any, ctx: Context, no_trunc: bool, human: bool) -> list[dict[str, str]]:
    from mydocker.cli.humanize import created_at, human_duration, since
    from mydocker.cli.sizes import human_size
    from mydocker.statemachine.build import history

    out = []
    for entry in history(ctx, image):
        when = _stamp(entry["CreatedAt"])
        by = entry["CreatedBy"]
        if not no_trunc and len(by) > 45:
            by = by[:44] + "…"
        ident = entry["ID"] if no_trunc or entry["ID"] == "<missing>" else entry["ID"].split(":")[1][:12]
        out.append({
            "ID": ident,
            "CreatedSince": human_duration(since(when)) + " ago" if human else when,
            "CreatedAt": created_at(when),
            "CreatedBy": by,
            "Size": human_size(entry["Size"], 3) if human else str(entry["Size"]),
            "Comment": entry["Comment"],
        })
    return out


def _stamp(value: str) -> str:
    """Configs spell times in RFC 3339 of any precision; humanize reads one spelling."""
    return timestamps.from_rfc3339(value) or timestamps.EPOCH


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template
    from mydocker.statemachine import images
    from mydocker.statemachine.errors import NoSuchImage

    image = images.find(ctx.conn, args.image)
    if image is None:
        raise NoSuchImage(images.normalize(args.image))
    found = rows(image, ctx, args.no_trunc, args.human.lower() not in ("false", "0"))
    if args.quiet:
        sys.stdout.write("".join(r["ID"] + "\n" for r in found))
        return 0
    fmt = template.unescape(args.format) if args.format else DEFAULT_FORMAT
    if fmt == "json":
        sys.stdout.write("".join(json.dumps(r) + "\n" for r in found))
        return 0
    if fmt == "table":
        fmt = DEFAULT_FORMAT
    if fmt.startswith("table"):
        body = fmt[len("table"):].strip()
        lines = [template.render(body, HEADERS)] + [template.render(body, r) for r in found]
        sys.stdout.write(template.table([line.split("\t") for line in lines]))
        return 0
    sys.stdout.write("".join(template.render(fmt, r) + "\n" for r in found))
    return 0
