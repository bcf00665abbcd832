"""mydocker start [-a] [-i] CONTAINER..."""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.errors import report
from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("start", "Start one or more created or stopped containers")
    p.add_argument("-a", "--attach", action="store_true", help="attach stdout/stderr and wait for the exit")
    p.add_argument("-i", "--interactive", action="store_true", help="attach stdin")
    p.add_argument("--detach-keys", help="override the key sequence for detaching a container (ctrl-p,ctrl-q)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.terminal import DETACHED, raw_mode, use_detach_keys, wait_monitor
    from mydocker.statemachine import lifecycle, queries
    from mydocker.statemachine.errors import UserError

    use_detach_keys(args.detach_keys)

    attach = args.attach or args.interactive
    if attach and len(args.containers) > 1:
        sys.stderr.write("Error: you cannot start and attach multiple containers at once\n")
        return 1
    code = 0
    for ref in args.containers:
        try:
            tty = attach and bool(queries.get(ctx.conn, ref).config["spec"].get("tty"))
            with raw_mode(tty and args.interactive):
                result = lifecycle.start(ctx, ref, attached=attach)
                if result is not None and (attach or not result.started):
                    code = wait_monitor(result.monitor_pid, result.detach_fd)
                    if code == DETACHED:
                        return 0
            if result is not None and not result.started:
                report(result.message)
                code = result.exit_code or code
            elif not attach:
                print(ref)
        except UserError as exc:
            report(exc)
            code = 1
    if not attach and code:
        return 1
    return code


