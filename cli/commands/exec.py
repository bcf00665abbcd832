"""mydocker exec [-d] [-i] [-t] [--detach-keys KEYS] [-e K=V] [-w DIR] [-u USER] CONTAINER COMMAND [ARG...]"""

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
    p.add_argument("--detach-keys", help="override the key sequence for detaching a container (ctrl-p,ctrl-q)")
    p.add_argument("container")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.container_flags import _env_items
    from mydocker.cli.errors import CliError
    from mydocker.cli.terminal import DEFAULT_DETACH_KEYS, parse_detach_keys
    from mydocker.statemachine.execs import DETACHED, ExecOptions, exec_in

    if not args.command:
        raise UsageError('"exec" requires at least 2 arguments')
    if args.workdir is not None and not args.workdir.startswith("/"):
        raise UsageError(f"the working directory '{args.workdir}' is invalid, it needs to be an absolute path")
    try:
        keys = parse_detach_keys(args.detach_keys if args.detach_keys is not None else DEFAULT_DETACH_KEYS)
    except CliError:
        raise CliError(f"Invalid escape keys ({args.detach_keys}) provided", 1) from None
    opts = ExecOptions(argv=list(args.command), env=_env_items(args), workdir=args.workdir, user=args.user,
                       tty=args.tty, interactive=args.interactive, detach=args.detach, privileged=args.privileged,
                       detach_keys=keys)
    code = exec_in(ctx, args.container, opts)
    if code == DETACHED:  # the command runs on; docker's words and code
        import sys

        sys.stderr.write("read escape sequence\n")
        return 1
    return code
