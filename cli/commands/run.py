"""mydocker run [OPTIONS] IMAGE [COMMAND] [ARG...]"""

from __future__ import annotations

import argparse
import os
import sys

from cli.container_flags import add_create_flags, create_options
from cli.parsing import Parser
from statemachine.context import Context


def parser() -> Parser:
    p = Parser("run", "Create and run a new container from an image", add_help=False)
    p.add_argument("-d", "--detach", action="store_true", help="run in the background and print its id")
    add_create_flags(p)
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from cli.terminal import raw_mode, wait_monitor
    from statemachine import lifecycle

    options = create_options(args)
    view = lifecycle.create(ctx, options)
    if args.detach:
        result = lifecycle.start(ctx, view.id, attached=False)
        assert result is not None
        if not result.started:
            os.waitpid(result.monitor_pid, 0)  # let the monitor record the failure first
            sys.stderr.write(f"Error: {result.message}\n")
            return result.exit_code or 125
        print(view.id)
        return 0
    with raw_mode(args.tty and args.interactive):
        result = lifecycle.start(ctx, view.id, attached=True)
        assert result is not None
        code = wait_monitor(result.monitor_pid)
    if not result.started:
        sys.stderr.write(f"Error: {result.message}\n")
        return result.exit_code or code
    return code
