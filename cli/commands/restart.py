"""mydocker restart [-t SECONDS] CONTAINER..."""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser, parse_timeout
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("restart", "Restart one or more containers")
    p.add_argument("-t", "--time", "--timeout", type=parse_timeout, default=10.0,
                   help="seconds to wait for stop before killing the container (default 10)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.each import for_each
    from mydocker.cli.terminal import wait_monitor
    from mydocker.statemachine import lifecycle, queries
    from mydocker.statemachine.errors import UserError

    def restart(ref: str) -> str:
        queries.get(ctx.conn, ref)  # docker's: an unknown name is said plainly, what fails after it with a prefix
        try:
            result = lifecycle.restart(ctx, ref, args.time)
        except UserError as exc:  # e.g. a `--network container:X` whose X is gone
            raise UserError(f"Cannot restart container {ref}: {exc}") from None
        if not result.started:
            wait_monitor(result.monitor_pid)
            raise UserError(f"Cannot restart container {ref}: {result.message}")
        return ref

    return for_each(args.containers, restart)
