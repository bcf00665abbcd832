"""mydocker system service [--listen unix://PATH|tcp://127.0.0.1:PORT] [--timeout N]

Serves the Engine API (1.41) so that the docker CLI, docker-py and compose drive
this root: podman's `system service`. Every event it causes names the API and
the caller (uid and pid from the unix socket's peer credentials)."""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f'invalid argument "{text}" for "--timeout" flag: not a number of seconds') from None
    if value < 0:
        raise UsageError(f'invalid argument "{text}" for "--timeout" flag: must not be negative')
    return value


def parser() -> Parser:
    p = Parser("system service", "Serve the Docker Engine API on a socket")
    p.add_argument("--listen", metavar="unix://PATH|tcp://127.0.0.1:PORT",
                   help="where to listen (default unix://ROOT/mydocker.sock)")
    p.add_argument("-t", "--timeout", type=_seconds, default=0.0,
                   help="exit after this many idle seconds (default 0: never)")
    p.add_argument("uri", nargs="?", help="the same as --listen (podman's spelling)")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    import asyncio

    from mydocker.cli.api.server import parse_listen, serve

    if args.uri and args.listen:
        raise UsageError("give the address once: --listen or an argument")
    listen = parse_listen(args.listen or args.uri, ctx.root)
    ctx.conn  # noqa: B018 - the database and its migrations exist before the first request
    ctx.close()
    asyncio.run(serve(ctx.root, listen, args.timeout))
    return 0
