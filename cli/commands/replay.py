"""mydocker replay --check: do the projections, and the snapshots, equal the fold of the log?"""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("replay", "Rebuild the projections from the event log in memory")
    p.add_argument("--check", action="store_true",
                   help="compare with the stored projections and snapshots; exit 1 on a diff")
    p.add_argument("--full", action="store_true",
                   help="with --check: fold the whole log, trusting nothing an earlier check proved")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.store.replay import fold_log

    if args.full and not args.check:
        sys.stderr.write("Error: --full goes with --check\n")
        return 125
    if not args.check:
        tables = fold_log(ctx.conn)
        for table, rows in tables.items():
            print(f"{table}: {len(rows)} rows from the log")
        return 0
    from mydocker.store.check import check

    differences = check(ctx.conn, full=args.full)
    if differences:
        sys.stdout.write("".join(line + "\n" for line in differences))
        sys.stderr.write(f"Error: {len(differences)} difference(s) between the log and the projections\n")
        return 1
    print("projections match the log")
    return 0
