"""mydocker top CONTAINER [ps OPTIONS]: the host's ps, only the container's processes."""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("top", "Display the running processes of a container")
    p.add_argument("container")
    p.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="[ps OPTIONS]")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.core import cgroups
    from mydocker.core.proctable import ProcTableError, ps_table
    from mydocker.statemachine import queries
    from mydocker.statemachine.errors import UserError
    from mydocker.statemachine.machine import judge

    view = queries.get(ctx.conn, args.container)
    judge(view, "top")
    members = cgroups.pids(view.config["spec"]["cgroups"])
    try:
        titles, rows = ps_table(args.ps_args or ["-ef"], members)
    except ProcTableError as exc:
        raise UserError(str(exc).split("\n", 1)[0]) from None  # docker: ps's first line only
    # docker's tabwriter for top: cells at least 20 wide, 3 apart
    widths = [max([20] + [len(r[i]) + 3 for r in [titles, *rows]]) for i in range(len(titles))]
    out = []
    for r in [titles, *rows]:
        out.append("".join(c.ljust(widths[i]) if i < len(r) - 1 else c for i, c in enumerate(r)) + "\n")
    sys.stdout.write("".join(out))
    return 0
