"""The audit log at 1,000,000 events: `ps -a --at` at random instants and `replay --check`.

Builds a synthetic but realistic log (bench/audit_log.py: containers that are created,
started, exec'd into, paused, renamed, killed, restarted and removed, ~100 alive at any
time, the default network's allocations), with projections folded by the real code,
then measures, on this machine:

- the snapshots: taken lazily for the whole log (backfill), and in the append path
  (what one costs at this log's live state);
- `ps -a --at T` at random instants: in-process (the command's work) and as a whole
  command (a fresh interpreter: what a user waits for);
- `replay --check`: in-process and as a whole command.

Writes bench/AUDIT_RESULTS.md. Run: make bench-audit, or
.venv/bin/python bench/audit.py [--events 1000000] [--queries 20]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from audit_log import build  # noqa: E402
from mydocker.cli.main import main as cli  # noqa: E402
from mydocker.store import snapshots  # noqa: E402
from mydocker.store.check import check  # noqa: E402
from mydocker.store.db import connect  # noqa: E402

MYDOCKER = str(Path(sys.executable).with_name("mydocker"))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def in_process(argv: list[str]) -> tuple[float, int, str]:
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli(argv)
    return time.perf_counter() - started, code, out.getvalue()


def command(argv: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run([MYDOCKER, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", default=str(HERE / "AUDIT_RESULTS.md"))
    args = parser.parse_args()
    rng = random.Random(14)
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"- load average at the start: {os.getloadavg()[0]:.1f} (2 cores)")
    tmp = tempfile.mkdtemp(prefix="mydocker-bench-audit-")
    try:
        root = os.path.join(tmp, "root")
        started = time.perf_counter()
        first, last = build(root, args.events)
        say(f"- built a log of {args.events:,} events ({first} .. {last}) in {time.perf_counter() - started:.1f} s; "
            f"database {os.path.getsize(os.path.join(root, 'mydocker.db')) / 1e6:.0f} MB")

        conn = connect(root)
        started = time.perf_counter()
        taken = snapshots.backfill(conn)
        lazy = time.perf_counter() - started
        blobs = conn.execute("SELECT COUNT(*), SUM(LENGTH(state)), MAX(LENGTH(state)) FROM snapshots").fetchone()
        say(f"- snapshots, lazily (backfill of the whole log): {taken} taken in {lazy:.2f} s; "
            f"{blobs[1] / 1e3:.0f} kB in all, the largest {blobs[2] / 1e3:.1f} kB")
        costs = []
        for _ in range(args.runs):
            conn.execute("BEGIN IMMEDIATE")
            t0 = time.perf_counter()
            snapshots.take_from_projections(conn, 10**12, "bench")
            costs.append(time.perf_counter() - t0)
            conn.execute("ROLLBACK")
        say(f"- a snapshot in the append path at this log's live state: "
            f"median {statistics.median(costs) * 1000:.2f} ms, "
            f"once per {snapshots.events.SNAPSHOT_EVERY:,} events")
        conn.close()

        instants = sorted(
            f"{rng.uniform(0, 1):.6f}" for _ in range(args.queries))
        span = (first, last)
        times_in, times_cmd = [], []
        from datetime import datetime

        def instant(fraction: str) -> str:
            a, b = (datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for t in span)
            return datetime.fromtimestamp(a + float(fraction) * (b - a)).astimezone().isoformat()

        shown = []
        for fraction in instants:
            at = instant(fraction)
            elapsed, code, out = in_process(["--root", root, "ps", "-a", "--at", at])
            assert code == 0, (code, out)
            times_in.append(elapsed)
            shown.append(out.count("\n") - 1)
            elapsed, code = command(["--root", root, "ps", "-a", "--at", at])
            assert code == 0
            times_cmd.append(elapsed)
        say(f"- `ps -a --at T`, {args.queries} random instants ({min(shown)}..{max(shown)} containers shown): "
            f"in-process median {ms(statistics.median(times_in))} (max {ms(max(times_in))}); "
            f"whole command median {ms(statistics.median(times_cmd))} (max {ms(max(times_cmd))})")
        elapsed, code = command(["--root", root, "ps", "-a"])
        say(f"- for scale, `ps -a` (no --at) as a whole command: {ms(elapsed)}")

        conn = connect(root)
        runs = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            problems = check(conn)
            runs.append(time.perf_counter() - t0)
            assert not problems, problems[:3]
        conn.close()
        cmd_runs = []
        for _ in range(args.runs):
            elapsed, code = command(["--root", root, "replay", "--check"])
            assert code == 0
            cmd_runs.append(elapsed)
        say(f"- `replay --check` of {args.events:,} events and {blobs[0]} snapshots: in-process median "
            f"{statistics.median(runs):.2f} s; whole command median {statistics.median(cmd_runs):.2f} s "
            f"(runs: {', '.join(f'{r:.2f}' for r in cmd_runs)})")
        shutil.rmtree(root)
        from mydocker.core import roottags

        roottags.unregister(root)

        # bench/eventlog.py's log (the "3.8 s today" of issue 14): short lives, no network
        from eventlog import build_log

        root = os.path.join(tmp, "eventlog")
        build_log(root, args.events)
        conn = connect(root)
        t0 = time.perf_counter()
        taken = snapshots.backfill(conn)
        lazy = time.perf_counter() - t0
        runs = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            problems = check(conn)
            runs.append(time.perf_counter() - t0)
            assert not problems, problems[:3]
        conn.close()
        cmd_runs = [command(["--root", root, "replay", "--check"])[0] for _ in range(args.runs)]
        say(f"- bench/eventlog.py's log of {args.events:,} events ({taken} snapshots taken lazily in {lazy:.1f} s): "
            f"`replay --check` in-process median {statistics.median(runs):.2f} s, whole command median "
            f"{statistics.median(cmd_runs):.2f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        from mydocker.core import roottags

        for name in ("root", "eventlog"):  # commands registered them; they are gone
            roottags.unregister(os.path.join(tmp, name))
    say(f"- load average at the end: {os.getloadavg()[0]:.1f}")
    header = ("# Audit log benchmark (bench/audit.py)\n\n"
              "Reproduce: `make bench-audit`. A shared 2-core machine: figures are noisy.\n\n")
    Path(args.output).write_text(header + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
