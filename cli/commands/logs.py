"""mydocker logs [-f] [--tail N] [-t] CONTAINER"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from mydocker.cli.parsing import Parser, UsageError
from mydocker.core import timestamps
from mydocker.statemachine.context import Context

FOLLOW_POLL = 0.1  # seconds between looks at the file while following


def _tail(text: str) -> int | None:
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"invalid value {text!r} for --tail: a number or 'all'") from None
    return None if value < 0 else value


def _time(flag: str):  # type: ignore[no-untyped-def]
    def convert(text: str) -> str:
        from mydocker.cli.commands.events import parse_when
        from mydocker.statemachine.errors import UserError

        try:
            return parse_when(text)
        except UsageError:
            raise UserError(f'invalid value for "{flag}": failed to parse value as time or duration: '
                            f'"{text}"') from None
    return convert


def parser() -> Parser:
    p = Parser("logs", "Fetch the logs of a container")
    p.add_argument("-f", "--follow", action="store_true", help="follow log output")
    p.add_argument("-n", "--tail", type=_tail, default=None, help="number of lines to show from the end")
    p.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    p.add_argument("--since", type=_time("since"), help="show logs since a timestamp or relative time (42m)")
    p.add_argument("--until", type=_time("until"), help="show logs before a timestamp or relative time (42m)")
    p.add_argument("--details", action="store_true", help="show extra details provided to logs")
    p.add_argument("container")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.core.logs import parse_lines
    from mydocker.statemachine import queries

    view = queries.get(ctx.conn, args.container)
    from mydocker.statemachine.log_options import keeps_logs

    if not keeps_logs(view.config):
        from mydocker.cli.errors import CliError

        raise CliError("configured logging driver does not support reading", 1)
    path = os.path.join(view.config["directory"], "container.log")
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        f = None
    position = 0
    if f is not None:
        records: Iterable[dict[str, Any]] = _window(
            itertools.chain(_rotated(path), parse_lines(iter(f.readline, ""))), args.since, args.until)
        if args.tail is not None:
            records = deque(records, maxlen=args.tail) if args.tail else []
        _emit(records, args.timestamps, args.details)
        position = f.tell()
    if not args.follow:
        return 0
    from mydocker.statemachine.machine import alive

    while True:
        current = queries.by_id(ctx.conn, view.id)
        running = current is not None and alive(current)
        if f is None and os.path.exists(path):
            f = open(path, encoding="utf-8", errors="replace")
        if f is not None:
            f.seek(position)
            chunk = f.read()
            if _rotated_away(f, path):  # the writer moved it to .1: finish it, go on with the new file
                chunk += "\n" if chunk and not chunk.endswith("\n") else ""
                f.close()
                f = open(path, encoding="utf-8", errors="replace")
                position = -len(chunk.encode("utf-8", "replace"))
                chunk += f.read()
            complete = chunk[: chunk.rfind("\n") + 1]  # leave a half-written line for next time
            position += len(complete.encode("utf-8", "replace"))
            _emit(_window(parse_lines(iter(complete.splitlines(keepends=True))), args.since, args.until),
                  args.timestamps, args.details)
        if not running or (args.until and _now() >= args.until):
            return 0
        time.sleep(FOLLOW_POLL)


def _rotated(path: str) -> Iterable[dict[str, Any]]:
    """The records of the rotated files (--log-opt max-file), oldest first."""
    from mydocker.core.logs import parse_lines, rotated_paths

    for older in rotated_paths(path)[:-1]:
        try:
            with open(older, encoding="utf-8", errors="replace") as f:
                yield from parse_lines(iter(f.readline, ""))
        except FileNotFoundError:
            continue  # rotated further (or dropped) meanwhile


def _rotated_away(f: Any, path: str) -> bool:
    try:
        return os.stat(path).st_ino != os.fstat(f.fileno()).st_ino
    except FileNotFoundError:
        return False


def _now() -> str:

    return timestamps.now()


def _window(records: Iterable[dict[str, Any]], since: str | None, until: str | None) -> Iterable[dict[str, Any]]:
    """--since / --until: the records' times and the bounds are both UTC, microseconds, Z."""
    for record in records:
        stamp = record.get("time", "")
        if (since is None or stamp >= since) and (until is None or stamp < until):
            yield record


def _emit(records: Iterable[dict[str, Any]], timestamps: bool, details: bool = False) -> None:
    for record in records:
        out = sys.stderr if record.get("stream") == "stderr" else sys.stdout
        text = record.get("log", "")
        if details:
            text = " " + text  # docker: the (here empty) --log-opt details, then a space
        out.write(f"{record.get('time', '')} {text}" if timestamps else text)
        out.flush()
