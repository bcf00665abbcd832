"""mydocker system compact --before TIME [-f]: fold the events of containers removed
before TIME into one summary row each (store/compaction.py). Only when asked."""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context

WARNING = """WARNING! This will delete the events of {n} container(s) removed before {before},
keeping one summary row each (compacted_containers; container_lifetimes still shows them).
"""


def parser() -> Parser:
    from mydocker.cli.commands.events import parse_when

    p = Parser("system compact", "Fold the events of long-removed containers into one summary row each")
    p.add_argument("--before", required=True, type=parse_when, metavar="TIME",
                   help="containers removed before this time (RFC 3339, or a duration ago: 720h)")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.store import compaction

    count = len(compaction.removed_before(ctx.conn, args.before))
    if count == 0:
        print(f"Nothing to compact: no container removed before {args.before} has events left")
        return 0
    if not args.force:
        sys.stdout.write(WARNING.format(n=count, before=args.before) + "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    done = compaction.compact(ctx.conn, args.before, ctx.actor())
    print(f"Compacted {done.containers} container(s): {done.events} events folded into summary rows")
    return 0
