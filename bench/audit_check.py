"""`replay --check` alone, on a log that is kept: for before/after comparisons at one moment,
and the check figures bench/audit.py and bench/eventlog.py print (one implementation).

    .venv/bin/python bench/audit_check.py --root /tmp/audit-log [--events 1000000] [--runs 5] \
        [--first | --full] [--plain]

builds bench/audit_log.py's log in ROOT if there is none (and its snapshots, by backfill
as a log written before snapshots gets them), then runs check() RUNS times in this process
and the whole command three times. Each figure is wall / CPU, CPU counting the children (a
long log is hashed in a child). Run it with another checkout's interpreter (its
.venv/bin/python: this script imports whatever `mydocker` that interpreter has) on a copy
of the same log for "before": every check stores what it needs in the database it checks,
so give each version its own copy. --first forgets the stored chain before each run (what
a first check after an upgrade costs: the whole fold while the log is hashed); --full times `replay --check
--full`; --plain builds bench/eventlog.py's log instead (short lives, no network).
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mydocker.store import snapshots  # noqa: E402
from mydocker.store.check import check  # noqa: E402
from mydocker.store.db import connect  # noqa: E402

MYDOCKER = str(Path(sys.executable).with_name("mydocker"))
Run = tuple[float, float]  # wall, CPU (seconds)


def cpu() -> float:
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def build_checked_log(root: str, events: int, plain: bool) -> tuple[int, float]:
    """Write the log (bench/eventlog.py's with plain, else bench/audit_log.py's) and take its
    snapshots as the runtime would have them; (snapshots taken, seconds the backfill took)."""
    if plain:
        from eventlog import build_log

        build_log(root, events)
    else:
        from audit_log import build

        build(root, events)
    conn = connect(root)
    started = time.perf_counter()
    taken = snapshots.backfill(conn)
    elapsed = time.perf_counter() - started
    conn.close()
    return taken, elapsed


def forget_chain(root: str) -> None:
    """Back to a first check: nothing a previous check proved is kept."""
    conn = sqlite3.connect(os.path.join(root, "mydocker.db"))
    with conn:
        conn.execute("UPDATE snapshots SET chain = NULL, checked_at = NULL")
    conn.close()


def in_process(root: str, full: bool = False, first: bool = False) -> Run:
    """One check() in this process, on a fresh connection (what the command opens)."""
    if first:
        forget_chain(root)
    conn = connect(root)
    started, used = time.perf_counter(), cpu()
    problems = check(conn, full=full)
    run = time.perf_counter() - started, cpu() - used
    conn.close()
    assert not problems, problems[:3]
    return run


def command(root: str, full: bool = False, first: bool = False) -> Run:
    """`mydocker --root ROOT replay --check [--full]` as a fresh process: what a user waits for."""
    if first:
        forget_chain(root)
    started, used = time.perf_counter(), cpu()
    subprocess.run([MYDOCKER, "--root", root, "replay", "--check", *(["--full"] if full else [])],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, cpu() - used


def median(runs: list[Run]) -> Run:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def runs_text(runs: list[Run]) -> str:
    wall, used = median(runs)
    return (f"median wall {wall:.2f} s, CPU {used:.2f} s ({len(runs)} runs: "
            + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in runs) + ")")


KINDS = {  # name: (full, first, what it is)
    "first": (False, True, "a first check of a log nothing has proven (a log an earlier version of the "
                           "fold wrote: once after an upgrade; the whole fold while the log is hashed, "
                           "which stores the chain)"),
    "repeat": (False, False, "a check of a log as this version writes it (its snapshots proven as they "
                             "were taken, or by the check before: the chain over the whole log, the fold "
                             "after its last snapshot)"),
    "full": (True, False, "`--full` (the whole fold and the whole log hashed, trusting nothing)"),
}


def check_figures(root: str, runs: int) -> tuple[list[str], dict[str, tuple[Run, Run]]]:
    """Every kind of check, RUNS times in process and RUNS times as a command, kinds
    alternating (a first check stores the chain the repeat one after it trusts). Lines to
    print (wall/CPU, CPU counting the hashing child), and per kind the medians (in
    process, command)."""
    taken: dict[str, tuple[list[Run], list[Run]]] = {kind: ([], []) for kind in KINDS}
    forget_chain(root)
    for _ in range(runs):
        for kind, (full, first, _) in KINDS.items():
            taken[kind][0].append(in_process(root, full, first))
            taken[kind][1].append(command(root, full, first))
    lines, medians = [], {}
    for kind, (_, _, what) in KINDS.items():
        mine, whole = taken[kind]
        lines.append(f"{what}: in process {runs_text(mine)}; as a command `mydocker --root R replay --check"
                     f"{' --full' if KINDS[kind][0] else ''}` {runs_text(whole)}")
        medians[kind] = median(mine), median(whole)
    return lines, medians


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--full", action="store_true", help="time --full checks")
    kind.add_argument("--first", action="store_true", help="time first checks (the stored chain forgotten)")
    parser.add_argument("--plain", action="store_true", help="build bench/eventlog.py's log, not audit_log's")
    args = parser.parse_args()
    if not os.path.exists(os.path.join(args.root, "mydocker.db")):
        build_checked_log(args.root, args.events, args.plain)
    print(f"load at the start: {load()}")
    what = "--full" if args.full else "first" if args.first else "repeat"
    mine = [in_process(args.root, args.full, args.first) for _ in range(args.runs)]
    print(f"check() in process ({what}), wall/CPU: {runs_text(mine)}")
    whole = [command(args.root, args.full, args.first) for _ in range(3)]
    print(f"`replay --check` as a whole command ({what}), wall/CPU: {runs_text(whole)}")
    print(f"load at the end: {load()}")
    from mydocker.core import roottags

    roottags.unregister(args.root)  # the commands registered it; whoever deletes ROOT need not know


if __name__ == "__main__":
    main()
