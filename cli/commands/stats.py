"""mydocker stats [-a] [--no-stream] [--no-trunc] [--format F] [CONTAINER...]"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context

DEFAULT_FORMAT = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t"
                  "{{.BlockIO}}\t{{.PIDs}}")
HEADERS = {"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
           "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
           "PIDs": "PIDS"}
INTERVAL = 1.0  # seconds between two readings, as docker's stats collector


def parser() -> Parser:
    p = Parser("stats", "Display a live stream of container(s) resource usage statistics")
    p.add_argument("-a", "--all", action="store_true", help="show all containers (default shows just running)")
    p.add_argument("--no-stream", action="store_true", help="disable streaming stats and only pull the first result")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    p.add_argument("--format", help="pretty-print stats using a Go template")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template
    from mydocker.cli.errors import report
    from mydocker.statemachine import queries
    from mydocker.statemachine.errors import UserError

    fmt = template.unescape(args.format) if args.format else DEFAULT_FORMAT
    if fmt == "table":
        fmt = DEFAULT_FORMAT
    body = fmt[len("table"):].strip() if fmt.startswith("table") else fmt
    template.check(body, HEADERS)

    def targets() -> list[tuple[str, queries.ContainerView]]:
        if args.containers:
            found = []
            for ref in args.containers:
                try:
                    found.append((ref, queries.get(ctx.conn, ref)))
                except UserError as exc:
                    report(exc)
                    raise SystemExit(1) from None
            return found
        return [(v.name, v) for v in queries.list_all(ctx.conn, include_stopped=args.all)]

    first = True
    while True:
        views = targets()
        before = {v.id: _sample(v) for _, v in views}
        ctx.close()  # do not hold the database open while we wait
        time.sleep(INTERVAL if (views or not args.no_stream) else 0)
        rows = [_fields(ref, v, before[v.id], _sample(v), args.no_trunc) for ref, v in views]
        out = "" if args.no_stream or first else "\033[2J\033[H"
        if fmt.startswith("table"):
            lines = [template.render(body, HEADERS)] + [template.render(body, r) for r in rows]
            out += template.table([line.split("\t") for line in lines])
        else:
            out += "".join(template.render(body, r) + "\n" for r in rows)
        sys.stdout.write(out)
        sys.stdout.flush()
        if args.no_stream:
            return 0
        first = False


def _sample(view: Any) -> Any:
    from mydocker.core import stats
    from mydocker.statemachine.machine import alive

    if not alive(view):
        return None
    return stats.of_container(view.config["spec"], view.row["pid"])


def _fields(ref: str, view: Any, before: Any, after: Any, no_trunc: bool) -> dict[str, str]:
    from mydocker.cli.sizes import bytes_size, human_size
    from mydocker.core import stats

    if before is None or after is None:
        cpu, mem, limit, net, blk, pids = 0.0, 0, 0, (0, 0), (0, 0), 0
    else:
        cpu = stats.cpu_percent(before, after)
        mem, limit = after.mem_usage, after.mem_limit
        net, blk, pids = (after.net_rx, after.net_tx), (after.blk_read, after.blk_write), after.pids
    return {
        "Container": ref,
        "ID": view.id if no_trunc else view.id[:12],
        "Name": view.name,  # a stopped container too: docker names it, with zeros for the rest
        "CPUPerc": f"{cpu:.2f}%",
        "MemUsage": f"{bytes_size(mem)} / {bytes_size(limit)}",
        "MemPerc": f"{(mem / limit * 100 if limit else 0.0):.2f}%",
        "NetIO": f"{human_size(net[0])} / {human_size(net[1])}",
        "BlockIO": f"{human_size(blk[0])} / {human_size(blk[1])}",
        "PIDs": str(pids),
    }
