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

The machine is shared, so every figure comes with the CPU time it took (user + sys:
time.process_time() in process, getrusage of the child for a whole command), which
load inflates far less than wall time, and with the idle floor of this moment: an
interpreter that only imports sqlite3 (`python -I -S -c 'import sqlite3'`).

Writes bench/AUDIT_RESULTS.md. Run: make bench-audit, or
.venv/bin/python bench/audit.py [--events 1000000] [--queries 20]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import resource
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

from audit_check import build_checked_log, check_figures  # noqa: E402
from audit_log import build  # noqa: E402
from mydocker.cli.main import main as cli  # noqa: E402
from mydocker.store import snapshots  # noqa: E402
from mydocker.store.db import connect  # noqa: E402

MYDOCKER = str(Path(sys.executable).with_name("mydocker"))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def in_process(argv: list[str]) -> tuple[float, float, int, str]:
    """(wall, CPU, exit code, stdout) of the command run in this process."""
    out = io.StringIO()
    started, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        code = cli(argv)
    return time.perf_counter() - started, time.process_time() - cpu, code, out.getvalue()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(argv: list[str]) -> tuple[float, float, int]:
    """(wall, CPU, exit code) of a fresh process."""
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    return time.perf_counter() - started, children_cpu() - cpu, done.returncode


def command(argv: list[str]) -> tuple[float, float, int]:
    return run_child([MYDOCKER, *argv])


def floor(runs: int = 5) -> str:
    """The idle floor now: the cheapest start of this interpreter that opens sqlite3
    (sys.executable: `python3` on PATH may be a shim that costs more than the rest)."""
    walls, cpus = zip(*(run_child([sys.executable, "-I", "-S", "-c", "import sqlite3"])[:2] for _ in range(runs)),
                      strict=True)
    return f"wall {ms(statistics.median(walls))}, CPU {ms(statistics.median(cpus))}"


def check_runs(root: str, runs: int) -> tuple[list[str], float, float]:
    """bench/audit_check.py's figures of every kind of check, and the idle floor: lines,
    and a repeat check's in-process median wall and CPU."""
    lines, medians = check_figures(root, runs)
    wall, cpu = medians["repeat"][0]
    return [*lines, f"idle floor now: {floor()}"], wall, cpu


def verdict(what: str, wall: float, cpu: float, target: float) -> str:
    def met(value: float) -> str:
        return "meets it" if value <= target else "does not"

    return (f"- {what}, target <= {ms(target)}: CPU {ms(cpu)} {met(cpu)}; "
            f"wall {ms(wall)} {met(wall)}")


def med(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", default=str(HERE / "AUDIT_RESULTS.md"))
    args = parser.parse_args()
    rng = random.Random(14)
    lines: list[str] = []
    verdicts: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average at the start: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores); idle floor: {floor()}")
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
        proofs = []
        for seq, at, blob in conn.execute("SELECT seq, time, state FROM snapshots ORDER BY seq DESC LIMIT ?",
                                          (4 * args.runs,)).fetchall():
            conn.execute("BEGIN IMMEDIATE")
            t0 = time.perf_counter()
            assert snapshots.vouch(conn, seq, at, blob), seq
            proofs.append(time.perf_counter() - t0)
            conn.execute("ROLLBACK")
        say(f"- a snapshot in the append path at this log's live state: "
            f"median {statistics.median(costs) * 1000:.2f} ms to take, and "
            f"{statistics.median(proofs) * 1000:.1f} ms (max {max(proofs) * 1000:.1f}) to prove and link it "
            f"(snapshots.vouch: the fold of its block), once per {snapshots.events.SNAPSHOT_EVERY:,} events")
        conn.close()

        instants = sorted(
            f"{rng.uniform(0, 1):.6f}" for _ in range(args.queries))
        span = (first, last)
        times_in, times_cmd = [], []
        from datetime import datetime

        def instant(fraction: str) -> str:
            a, b = (datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for t in span)
            return datetime.fromtimestamp(a + float(fraction) * (b - a)).astimezone().isoformat()

        shown, cpu_in, cpu_cmd = [], [], []
        for fraction in instants:
            at = instant(fraction)
            elapsed, cpu, code, out = in_process(["--root", root, "ps", "-a", "--at", at])
            assert code == 0, (code, out)
            times_in.append(elapsed)
            cpu_in.append(cpu)
            shown.append(out.count("\n") - 1)
            elapsed, cpu, code = command(["--root", root, "ps", "-a", "--at", at])
            assert code == 0
            times_cmd.append(elapsed)
            cpu_cmd.append(cpu)
        say(f"- `ps -a --at T`, {args.queries} random instants ({min(shown)}..{max(shown)} containers shown): "
            f"in-process median wall {ms(med(times_in))} (max {ms(max(times_in))}), "
            f"CPU {ms(med(cpu_in))} (max {ms(max(cpu_in))}); "
            f"whole command median wall {ms(med(times_cmd))}, CPU {ms(med(cpu_cmd))}")
        plain = [command(["--root", root, "ps", "-a"]) for _ in range(args.runs)]
        say(f"- for scale, `ps -a` (no --at) as a whole command: median wall {ms(med([p[0] for p in plain]))}, "
            f"CPU {ms(med([p[1] for p in plain]))}; idle floor now: {floor()}")

        text, wall, cpu = check_runs(root, args.runs)
        say(f"- `replay --check` of {args.events:,} events and {blobs[0]} snapshots:"
            + "".join(f"\n  - {line}" for line in text))
        verdicts.append(verdict("`ps -a --at` (in process)", med(times_in), med(cpu_in), 0.1))
        verdicts.append(verdict("`replay --check` of this log as the runtime writes it (in process)", wall, cpu, 1.0))
        shutil.rmtree(root)
        from mydocker.core import roottags

        roottags.unregister(root)

        # bench/eventlog.py's log (the "3.8 s today" of issue 14): short lives, no network
        root = os.path.join(tmp, "eventlog")
        taken, lazy = build_checked_log(root, args.events, plain=True)
        text, wall, cpu = check_runs(root, args.runs)
        say(f"- bench/eventlog.py's log of {args.events:,} events ({taken} snapshots taken lazily in {lazy:.1f} s), "
            "`replay --check`:" + "".join(f"\n  - {line}" for line in text))
        verdicts.append(verdict("`replay --check` of bench/eventlog.py's log as the runtime writes it (in process)",
                                wall, cpu, 1.0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        from mydocker.core import roottags

        for name in ("root", "eventlog"):  # commands registered them; they are gone
            roottags.unregister(os.path.join(tmp, name))
    say(f"- load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    say("")
    say("Against issue 14's targets (CPU is what this machine's cores spent on it; wall adds the wait")
    say("for a core on a loaded host):")
    for line in verdicts:
        say(line)
    write_results(Path(args.output), lines)


# The results file: what this script measured, then what a person wrote about it (kept).
HAND_WRITTEN = "<!-- bench/audit.py rewrites everything above this line and keeps what follows -->"


def write_results(path: Path, lines: list[str]) -> None:
    kept = ""
    if path.exists() and HAND_WRITTEN in (text := path.read_text()):
        kept = text[text.index(HAND_WRITTEN) + len(HAND_WRITTEN):]
    header = ("# Audit log benchmark (bench/audit.py)\n\n"
              "Reproduce: `make bench-audit`. A shared 2-core machine: figures are noisy.\n\n"
              f"## Last run, at {git_head()}\n\n")
    path.write_text(header + "\n".join(lines) + "\n\n" + HAND_WRITTEN + (kept or "\n"))


def git_head() -> str:
    done = subprocess.run(["git", "-C", str(HERE), "log", "-1", "--format=%h %s"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip()[:90] or "an unknown commit"


if __name__ == "__main__":
    main()
