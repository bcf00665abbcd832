"""mydocker ps [-a] [-q] [--no-trunc] [--format FORMAT]"""

from __future__ import annotations

import argparse
import json
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context

DEFAULT_FORMAT = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
           "RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "State": "STATE",
           "Networks": "NETWORKS", "Labels": "LABELS", "Mounts": "MOUNTS", "Size": "SIZE",
           "LocalVolumes": "LOCAL VOLUMES"}


def parser() -> Parser:
    p = Parser("ps", "List containers")
    p.add_argument("-a", "--all", action="store_true", help="show all containers (default shows just running)")
    p.add_argument("-q", "--quiet", action="store_true", help="only display container IDs")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("--format", help="'table', 'json', 'table TEMPLATE' or a Go template")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template
    from mydocker.cli.views import ps_fields
    from mydocker.statemachine import queries

    fmt = template.unescape(args.format) if args.format else DEFAULT_FORMAT
    if args.quiet:
        fmt = "{{.ID}}"
    if fmt == "table":
        fmt = DEFAULT_FORMAT
    views = queries.list_all(ctx.conn, include_stopped=args.all)
    rows = [ps_fields(v, truncate=not args.no_trunc) for v in views]
    out = sys.stdout
    if fmt == "json":
        out.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return 0
    if fmt.startswith("table"):
        body = fmt[len("table"):].strip()
        template.check(body, ps_fields_sample())
        header = template.render(body, {k: v for k, v in HEADERS.items()})
        lines = [header] + [template.render(body, r) for r in rows]
        out.write(template.table([line.split("\t") for line in lines]))
        return 0
    template.check(fmt, ps_fields_sample())
    out.write("".join(template.render(fmt, r) + "\n" for r in rows))
    return 0


def ps_fields_sample() -> dict[str, str]:
    return {k: "" for k in HEADERS}
