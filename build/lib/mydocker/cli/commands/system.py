"""mydocker system check | prune: the log against the kernel.

check: what is running as the log says, what died unseen or is half done
(reconcile's findings), and host objects of this root that the log does not
know (cgroups, container directories, mounts). prune: removes those leaks."""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("system", "Compare the log with the kernel")
    p.add_argument("action", choices=["check", "prune"])
    p.add_argument("--format", choices=["text", "json"], default="text")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    import json

    from mydocker.statemachine import system

    report = system.check(ctx) if args.action == "check" else system.prune(ctx)
    if args.format == "json":
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        print(f"running: {len(report['running'])} (all with a live process and monitor)"
              if not report["findings"] else f"running: {len(report['running'])}")
        for finding in report["findings"]:
            print(f"inconsistent: {finding}")
        for leak in report["leaks"]:
            print(f"{'removed' if args.action == 'prune' else 'leaked'}: {leak}")
        if not report["findings"] and not report["leaks"]:
            print("the log and the kernel agree")
    return 1 if (args.action == "check" and (report["findings"] or report["leaks"])) else 0
