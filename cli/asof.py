"""`--at TIME` on the list and inspect commands: the host as the log says it was then.

This module parses the flag; store/asof.py makes the connection read the past (TEMP
tables that shadow the projections), so the command's own code runs unchanged.
"""

from __future__ import annotations

import argparse
import sqlite3
from datetime import UTC, datetime

AT_HELP = "show the state at this time: RFC 3339, unix seconds or a duration ago (2h, 10m)"


def add_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", type=parse_at, metavar="TIME", help=AT_HELP)


def parse_at(text: str) -> str:
    # the same parser as `events --since`: one set of rules for times users type
    from mydocker.cli.commands.events import parse_when

    return parse_when(text)


def travel(conn: sqlite3.Connection, at: str) -> int:
    """Make conn read the projections (and the log) as of `at`; returns the last seq seen."""
    from mydocker.cli import humanize
    from mydocker.store.asof import into_temp

    seq = into_temp(conn, at)
    # "Up 3 minutes", "Exited (0) 2 hours ago": as a user would have read them then
    humanize.NOW = min(humanize.parse_time(at), datetime.now(UTC))
    return seq
