"""mydocker attach [--no-stdin] [--sig-proxy=true|false] CONTAINER

Streams what the container writes from now on (stdout to ours, stderr to
ours), passes the signals we get to its init (not for a tty, as docker), and
exits with its exit code once it stops. Its stdin is not forwarded: the
monitor holds no channel for a second writer (see the README)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context

POLL = 0.05  # seconds between looks at the log
PROXIED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
           signal.SIGWINCH)


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise UsageError(f'invalid argument "{text}" for "--sig-proxy" flag: strconv.ParseBool: parsing "{text}": '
                     "invalid syntax")


def parser() -> Parser:
    p = Parser("attach", "Attach local standard output and error streams to a running container")
    p.add_argument("--no-stdin", action="store_true", help="do not attach STDIN (it is never attached)")
    p.add_argument("--sig-proxy", type=_bool, nargs="?", const=True, default=True,
                   help="proxy all received signals to the process (default true)")
    p.add_argument("container")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.core.logs import parse_lines
    from mydocker.statemachine import lifecycle, queries
    from mydocker.statemachine.errors import UserError
    from mydocker.statemachine.machine import alive, judge

    view = queries.get(ctx.conn, args.container)
    judge(view, "attach")
    received: list[int] = []
    if args.sig_proxy and not view.config["spec"].get("tty"):
        for signum in PROXIED:
            signal.signal(signum, lambda n, _f: received.append(n))
    path = os.path.join(view.config["directory"], "container.log")
    position = os.path.getsize(path) if os.path.exists(path) else 0
    while True:
        while received:
            got = received.pop(0)
            if got != signal.SIGWINCH:
                try:
                    lifecycle.kill(ctx, view.id, got)
                except UserError:
                    pass  # it stopped meanwhile: the loop sees it next
        current = queries.by_id(ctx.conn, view.id)
        running = current is not None and alive(current)
        position = _copy_new(path, position, parse_lines)
        if not running:
            code = current.row["exit_code"] if current is not None else 0
            return int(code or 0)
        ctx.close()  # no connection held between looks
        time.sleep(POLL)


def _copy_new(path: str, position: int, parse_lines) -> int:  # type: ignore[no-untyped-def]
    try:
        with open(path, "rb") as f:
            f.seek(position)
            chunk = f.read()
    except FileNotFoundError:
        return position
    complete = chunk[: chunk.rfind(b"\n") + 1]  # a half-written line waits for next time
    for record in parse_lines(iter(complete.decode("utf-8", "replace").splitlines(keepends=True))):
        out = sys.stderr if record.get("stream") == "stderr" else sys.stdout
        out.write(record.get("log", ""))
        out.flush()
    return position + len(complete)
