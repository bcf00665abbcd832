"""mydocker ps [-a] [-q] [-s] [-l] [-n N] [--no-trunc] [--filter K=V]... [--format FORMAT]"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mydocker.cli.asof import add_flag
from mydocker.cli.parsing import Parser, parse_int
from mydocker.statemachine.context import Context

DEFAULT_FORMAT = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
           "RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "State": "STATE",
           "Networks": "NETWORKS", "Labels": "LABELS", "Mounts": "MOUNTS", "Size": "SIZE",
           "LocalVolumes": "LOCAL VOLUMES", "Label": None}


def parser() -> Parser:
    p = Parser("ps", "List containers")
    p.add_argument("-a", "--all", action="store_true", help="show all containers (default shows just running)")
    p.add_argument("-q", "--quiet", action="store_true", help="only display container IDs")
    p.add_argument("-s", "--size", action="store_true", help="display total file sizes")
    p.add_argument("-l", "--latest", action="store_true", help="show the latest created container")
    p.add_argument("-n", "--last", type=parse_int("--last"), default=-1,
                   help="show n last created containers (includes all states)")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="id, name, label, status, exited, ancestor, before, since, volume, network, publish, "
                        "expose, health")
    p.add_argument("--format", help="'table', 'json', 'table TEMPLATE' or a Go template")
    add_flag(p)
    return p


def listing(conn: Any, filters: Any, everything: bool, limit: int) -> list[Any]:
    """The containers `ps` lists, newest first, as GET /containers/json lists them too:
    running ones only unless everything, a limit or a filter that implies all
    (filters: container_filters.parse's); limit <= 0 is none."""
    from mydocker.statemachine import container_filters, queries

    views = queries.list_all(conn, include_stopped=everything or limit > 0 or container_filters.implies_all(filters))

    def image_ids(ref: str) -> set[str]:
        from mydocker.statemachine import images  # the image store costs start-up time: only when asked

        found = images.find(conn, ref)
        return {found.id} if found is not None else set()

    views = container_filters.select(conn, views, filters, image_ids)
    return views[:limit] if limit > 0 else views


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template
    from mydocker.cli.views import container_size, ps_fields
    from mydocker.statemachine import container_filters, queries

    filters = container_filters.parse(args.filter)
    if args.at:
        from mydocker.cli.asof import travel

        travel(ctx.conn, args.at)
    fmt = args.format
    if args.quiet:
        fmt = "{{.ID}}"
    elif args.size and (not fmt or fmt == "table"):
        fmt = DEFAULT_FORMAT + "\t{{.Size}}"
    views = listing(ctx.conn, filters, args.all, 1 if args.latest else args.last)
    sizes: dict[str, int] = {}

    def size_of(view: queries.ContainerView):  # type: ignore[no-untyped-def]
        def size() -> str:
            image_id = view.row["image_id"]
            if image_id not in sizes:
                from mydocker.statemachine import images

                found = images.find_by_id(ctx.conn, image_id)
                sizes[image_id] = found.row["size"] if found is not None else 0
            return container_size(view, sizes[image_id])
        return size

    rows = [ps_fields(v, truncate=not args.no_trunc, size=size_of(v)) for v in views]
    sys.stdout.write(template.format_list(fmt, rows, DEFAULT_FORMAT, HEADERS))
    return 0
