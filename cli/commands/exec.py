"""mydocker exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER COMMAND [ARG...]"""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("exec", "Execute a command in a running container")
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("-e", "--env", action="append", default=[], help="set environment variables")
    p.add_argument("--env-file", action="append", default=[], help="read in a file of environment variables")
    p.add_argument("-w", "--workdir", help="working directory inside the container")
    p.add_argument("-u", "--user", default="", help="username or UID (format: <name|uid>[:<group|gid>])")
    p.add_argument("-d", "--detach", action="store_true", help="detached mode: run command in the background")
    p.add_argument("--privileged", action="store_true", help="give extended privileges to the command")
    p.add_argument("container")
    p.add_argument("command", nargs=argparse.REMAINDER)
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.container_flags import _env_items
    from mydocker.statemachine.execs import ExecOptions, exec_in

    if not args.command:
        raise UsageError('"exec" requires at least 2 arguments')
    if args.workdir is not None and not args.workdir.startswith("/"):
        raise UsageError(f"the working directory '{args.workdir}' is invalid, it needs to be an absolute path")
    opts = ExecOptions(argv=list(args.command), env=_env_items(args), workdir=args.workdir, user=args.user,
                       tty=args.tty, interactive=args.interactive, detach=args.detach, privileged=args.privileged)
    return exec_in(ctx, args.container, opts)
