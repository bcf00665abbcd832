"""`replay --check` alone, on a log that is kept: for before/after comparisons at one moment.

    .venv/bin/python bench/audit_check.py --root /tmp/audit-log [--events 1000000] [--runs 5] [--full] [--plain]

builds bench/audit_log.py's log in ROOT if there is none (and its snapshots), then runs
check() RUNS times in this process and the whole command three times. Each figure is
wall / CPU, CPU counting the children (a long log is hashed half in a child). Run it
with another checkout's interpreter (its .venv/bin/python: this script imports whatever
`mydocker` that interpreter has) on a copy of the same log for "before": every check
stores what it needs in the database it checks, so give each version its own copy.
--full times `replay --check --full` (what a first check costs: the whole fold, and the
whole log hashed); --plain builds bench/eventlog.py's log instead (short lives, no network).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_log import build  # noqa: E402
from mydocker.store import snapshots  # noqa: E402
from mydocker.store.check import check  # noqa: E402
from mydocker.store.db import connect  # noqa: E402


def cpu() -> float:
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="time --full checks (what a first check costs)")
    parser.add_argument("--plain", action="store_true", help="build bench/eventlog.py's log, not audit_log's")
    args = parser.parse_args()
    if not os.path.exists(os.path.join(args.root, "mydocker.db")):
        if args.plain:
            from eventlog import build_log

            build_log(args.root, args.events)
        else:
            build(args.root, args.events)
        conn = connect(args.root)
        snapshots.backfill(conn)
        conn.close()
    print(f"load at the start: {load()}")
    conn = connect(args.root)
    runs = []
    for _ in range(args.runs):
        started, used = time.perf_counter(), cpu()
        problems = check(conn, full=args.full)
        runs.append((time.perf_counter() - started, cpu() - used))
        assert not problems, problems[:3]
    conn.close()
    print("check() in process, wall/CPU: " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in runs))
    command = str(Path(sys.executable).with_name("mydocker"))
    whole = []
    for _ in range(3):
        started, used = time.perf_counter(), cpu()
        subprocess.run([command, "--root", args.root, "replay", "--check", *(["--full"] if args.full else [])],
                       check=True, stdout=subprocess.DEVNULL)
        whole.append((time.perf_counter() - started, cpu() - used))
    print("`replay --check` as a whole command, wall/CPU: " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in whole))
    print(f"load at the end: {load()}")
    from mydocker.core import roottags

    roottags.unregister(args.root)  # the commands registered it; whoever deletes ROOT need not know


if __name__ == "__main__":
    main()
