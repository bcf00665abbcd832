#!/usr/bin/env python3
"""Issue 16's two scale rows, measured with the real CLI on this machine:

1. A long log: a root whose log holds 10,000 containers that were created and removed,
   against an empty root, in the same interleaved rounds: `ps -a`, `run --rm --network
   none busybox true` and `rm` of a stopped container must be no slower than with the
   empty log (within 20 %).
   The 10,000 lives are copies of one real life (`run` + `rm` in that root), with the
   container's id and name replaced, appended as rows of the events table; the
   projections are then rebuilt by the same fold `replay` uses. So every row has the
   size and shape of a real one, and `replay --check` of the root agrees.

2. Many running containers: `run -d busybox sleep 3600` on the default bridge N times
   (500 by default). Reports: how many run, the monitors' total private memory
   (Pss_Anon of the parent of each container's PID 1), `run -d` of the last ten against
   the first ten (medians), the same ratio measured interleaved (`run -d` into the root
   with N running and into an empty root, alternately, so both see the same load), and
   `ps -a` with N against with 100.

Run: .venv/bin/python bench/scale.py [--log 10000] [--running 500] [--repeat 9]
      [--skip-log] [--skip-running]      (make bench-scale)
Writes bench/SCALE_RESULTS.md. Everything made here lives in temporary roots and is
removed at the end (`system check` must then find nothing).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import secrets
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import lifecycle as lc  # noqa: E402 - Runner, MyDocker and their teardown are shared

BINARY = str(Path(sys.executable).parent / "mydocker")


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


# --------------------------------------------------------------------------- the long log

def clone_lives(root: Path, template_id: str, template_name: str, count: int) -> None:
    """Append `count` copies of the template container's events (its whole life,
    create to destroy) under new ids and names, then rebuild the projections from
    the log with replay's fold."""
    from mydocker.store.db import connect, writer
    from mydocker.store.replay import fold_log, stored_projections

    conn = connect(str(root))
    rows = conn.execute("SELECT version, type, time, actor, payload FROM events"
                        " WHERE stream_id = ? ORDER BY version", (template_id,)).fetchall()
    if not rows:
        raise lc.BenchError(f"no events for the template container {template_id}")
    copies = []
    for i in range(count):
        new_id = secrets.token_hex(32)
        new_name = f"{template_name}-{i}"

        def rewrite(text: str | None, new_id: str = new_id, new_name: str = new_name) -> str | None:
            if text is None:
                return None
            text = text.replace(template_id, new_id).replace(template_id[:12], new_id[:12])
            return text.replace(json.dumps(template_name), json.dumps(new_name))

        for version, etype, stamp, actor, payload in rows:
            copies.append((new_id, "container", version, etype, stamp, actor, rewrite(payload)))
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO events (stream_id, stream_type, version, type, time, actor, payload)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)", copies)
    conn.execute("COMMIT")
    tables = fold_log(conn)
    stored = stored_projections(conn)
    db = writer(conn)
    with db.atomic():
        for table, projected in tables.items():
            if projected != stored.get(table):
                db.execute(f"DELETE FROM [{table}]")
                if projected:
                    db[table].insert_all(projected.values())
    conn.close()


def bench_log(runner: lc.Runner, scratch: Path, lives: int, repeat: int) -> list[str]:
    roots = {"empty log": scratch / "empty", f"{lives:,} removed containers": scratch / "long"}
    rts = {label: lc.MyDocker(BINARY, path) for label, path in roots.items()}
    labels = list(rts)
    lines: list[str] = []
    try:
        long_rt = rts[labels[1]]
        runner.run(long_rt.run_d("scale-template", ["true"], "none"))
        long_rt.wait_exited(runner, "scale-template")
        template_id = lc.output([*long_rt.base, "inspect", "--format", "{{.Id}}", "scale-template"]).strip()
        runner.run(long_rt.rm(["scale-template"]))
        started = time.perf_counter()
        clone_lives(long_rt.root, template_id, "scale-template", lives)
        events = _count_events(long_rt.root)
        size_mb = os.path.getsize(long_rt.root / "mydocker.db") / 1e6
        lines.append(f"built the long log: {lives:,} lives, {events:,} events, {size_mb:.1f} MB,"
                     f" in {time.perf_counter() - started:.1f} s")
        code, err = runner.run([*long_rt.base, "replay", "--check"], check=False)
        lines.append(f"replay --check of the long log: exit {code}")
        for rt in rts.values():  # ten stopped containers for ps -a to list in both roots
            for i in range(10):
                runner.run(rt.run_d(f"scale-ps{i}", ["true"], "none"))
        samples: dict[tuple[str, str], list[float]] = {}
        for r in range(repeat):
            order = labels if r % 2 == 0 else labels[::-1]
            for label in order:
                rt = rts[label]
                samples.setdefault(("ps -a", label), []).append(runner.timed(rt.ps()))
                samples.setdefault(("run --rm --network none busybox true", label), []).append(
                    runner.timed(rt.run_rm(f"scale-rm{r}", ["true"], "none")))
                name = f"scale-stopped{r}"
                runner.run(rt.run_d(name, ["true"], "none"))
                rt.wait_exited(runner, name)
                samples.setdefault(("rm of a stopped container", label), []).append(runner.timed(rt.rm([name])))
        lines.append("")
        lines.append(f"| command (median ms of {repeat}) | {labels[0]} | {labels[1]} | ratio | target ≤ 1.2 |")
        lines.append("|---|---:|---:|---:|---|")
        for op in ("ps -a", "run --rm --network none busybox true", "rm of a stopped container"):
            empty, long_ = median_ms(samples[(op, labels[0])]), median_ms(samples[(op, labels[1])])
            ratio = long_ / empty
            met = "met" if ratio <= 1.2 else "not met"
            lines.append(f"| `{op}` | {empty:.0f} | {long_:.0f} | {ratio:.2f} | {met} |")
    finally:
        for rt in rts.values():
            lines += [f"teardown: {w}" for w in rt.cleanup(runner, "scale")]
    return lines


def _count_events(root: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(root / "mydocker.db")
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()


# --------------------------------------------------------------------------- many running

def pss_anon_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss_Anon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def interleaved_run_d(runner: lc.Runner, full: lc.MyDocker, fresh: lc.MyDocker, repeat: int) -> tuple[float, float]:
    """`run -d` into the full root against into an empty one, in alternating order
    round by round: the same load for both, which the first ten and the last ten,
    minutes apart on a shared machine, do not have. The empty root's container is
    removed after each round, so each of its runs is a first one."""
    samples: dict[str, list[float]] = {"full": [], "fresh": []}
    for r in range(repeat):
        order = ("full", "fresh") if r % 2 == 0 else ("fresh", "full")
        for which in order:
            rt = full if which == "full" else fresh
            name = f"scale-{which}{r}"
            samples[which].append(runner.timed(rt.run_d(name, ["sleep", "3600"], None)))
            if which == "fresh":
                runner.run(rt.rm([name], force=True))
    return median_ms(samples["full"]), median_ms(samples["fresh"])


def bench_running(runner: lc.Runner, scratch: Path, count: int, repeat: int) -> list[str]:
    rt = lc.MyDocker(BINARY, scratch / "many")
    fresh = lc.MyDocker(BINARY, scratch / "fresh")
    lines: list[str] = []
    run_times: list[float] = []
    ps_at: dict[int, float] = {}
    try:
        runner.run(fresh.run_d("scale-warm", ["true"], None))  # its default network exists from now on
        runner.run(fresh.rm(["scale-warm"], force=True))
        for i in range(1, count + 1):
            run_times.append(runner.timed(rt.run_d(f"scale-run{i}", ["sleep", "3600"], None)))
            if i in (100, count):
                ps_at[i] = median_ms([runner.timed(rt.ps()) for _ in range(repeat)])
            if i % 50 == 0:
                lc.log(f"scale: {i} running, last run -d {run_times[-1]:.0f} ms")
        pids = lc.output([*rt.base, "inspect", "--format", "{{.State.Pid}}",
                          *[f"scale-run{i}" for i in range(1, count + 1)]], timeout=600).split()
        alive = [int(p) for p in pids if p.isdigit() and int(p) > 0 and os.path.exists(f"/proc/{p}")]
        monitors = {parent_of(pid) for pid in alive}
        private_mb = sum(pss_anon_kb(m) for m in monitors) / 1024
        first, last = median_ms(run_times[:10]), median_ms(run_times[-10:])
        with_n, with_none = interleaved_run_d(runner, rt, fresh, repeat)
        lines.append("| row | figure | target | met |")
        lines.append("|---|---|---|---|")
        lines.append(f"| containers running after {count} `run -d busybox sleep 3600` (default bridge) | {len(alive)} "
                     f"| all {count} | {'yes' if len(alive) == count else 'no'} |")
        lines.append(f"| monitors' total private memory (Pss_Anon, {len(monitors)} monitors) | {private_mb:.0f} MB "
                     f"| ≤ {2.5 * count / 500 * 1000:.0f} MB | {'yes' if private_mb <= 2500 * count / 500 else 'no'} |")
        lines.append(f"| `run -d`: median of the last 10 / of the first 10 | {last:.0f} / {first:.0f} ms = "
                     f"{last / first:.2f} | ≤ 1.25 | {'yes' if last / first <= 1.25 else 'no'} |")
        lines.append(f"| `run -d` with {count} running / into an empty root, interleaved (medians of {repeat}) "
                     f"| {with_n:.0f} / {with_none:.0f} ms = {with_n / with_none:.2f} | ≤ 1.25 "
                     f"| {'yes' if with_n / with_none <= 1.25 else 'no'} |")
        if 100 in ps_at and count in ps_at and count != 100:
            ratio = ps_at[count] / ps_at[100]
            lines.append(f"| `ps -a` with {count} / with 100 (medians of {repeat}) | {ps_at[count]:.0f} / "
                         f"{ps_at[100]:.0f} ms = {ratio:.2f} | ≤ 2 | {'yes' if ratio <= 2 else 'no'} |")
        started = time.perf_counter()
        runner.run(rt.rm([f"scale-run{i}" for i in range(1, count + 1)], force=True), timeout=1800)
        lines.append(f"\n`rm -f` of all {count} in one command: {time.perf_counter() - started:.1f} s")
    finally:
        for each in (rt, fresh):
            lines += [f"teardown: {w}" for w in each.cleanup(runner, "scale")]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=int, default=10_000, help="removed containers in the long log")
    parser.add_argument("--running", type=int, default=500, help="containers to keep running at once")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--skip-log", action="store_true")
    parser.add_argument("--skip-running", action="store_true")
    parser.add_argument("--out", default=str(HERE / "SCALE_RESULTS.md"))
    args = parser.parse_args()
    # A kill or a closed terminal unwinds like ^C: the finally blocks remove every
    # container, network and root made so far.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    if os.geteuid() != 0:
        print("Error: run as root (containers are made)", file=sys.stderr)
        return 1
    load_start = os.getloadavg()
    report = ["# mydocker at scale (issue 16's last two rows)", ""]
    with tempfile.TemporaryDirectory(prefix="mydocker-scale-") as tmp:
        scratch = Path(tmp)
        runner = lc.Runner(scratch)
        try:
            if not args.skip_log:
                report += ["## A long log", ""] + bench_log(runner, scratch, args.log, args.repeat) + [""]
            if not args.skip_running:
                report += [f"## {args.running} running containers", ""]
                report += bench_running(runner, scratch, args.running, args.repeat) + [""]
        finally:
            runner.close()
    load_end = os.getloadavg()
    now = datetime.datetime.now(datetime.UTC)
    report[1:1] = ["", f"Date: {now:%Y-%m-%d %H:%M} UTC. Machine: {os.cpu_count()} CPUs, "
                   f"kernel {platform.release()}, Python {platform.python_version()}; mydocker {lc._git_version()}; "
                   f"load average at start {load_start[0]:.2f}, at the end {load_end[0]:.2f}.",
                   "", "Reproduce: `make bench-scale` (`.venv/bin/python bench/scale.py`)."]
    text = "\n".join(report) + "\n"
    Path(args.out).write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
