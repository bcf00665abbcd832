"""Event-log figures (issue: audit and crash recovery), on this machine:

- append rate of lifecycle events through store.events.append (one transaction
  per command, as the CLI does: create, start, die, stop, destroying, destroy);
- `replay --check` of a log of 1,000,000 events as the runtime has it (its snapshots
  taken by backfill, as a log written before snapshots gets them): store.check.check in
  process and the whole command, a first check (no stored chain), a repeat one and
  `--full` (bench/audit_check.py's figures, the same code);
- reconcile with 200 running containers (the check every reading command pays).

Run: .venv/bin/python bench/eventlog.py [--events 1000000] [--containers 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_check import build_checked_log, check_figures, load  # noqa: E402
from mydocker.core import procinfo  # noqa: E402
from mydocker.store.db import connect  # noqa: E402
from mydocker.store.events import Event, append, now_iso  # noqa: E402

CYCLE = ["create", "start", "die", "stop", "destroying", "destroy"]


def create_payload(i: int) -> dict:
    spec = {"cgroups": {"pids": f"/sys/fs/cgroup/pids/mydocker-bench-{i:012x}"}}
    return {"name": f"bench{i}", "image": "busybox", "image_id": "sha256:" + "0" * 64, "command": ["true"],
            "config": {"spec": spec, "directory": ""}}


def payload(etype: str, i: int, pid: int = 1, start: int = 1, boot: str = "b") -> dict:
    if etype == "create":
        return create_payload(i)
    if etype == "start":
        return {"pid": pid, "pid_start": start, "boot_id": boot, "monitor_pid": pid, "monitor_start": start}
    if etype == "die":
        return {"exit_code": 0, "oom_killed": False, "reason": "exited"}
    return {}


def bench_append(root: str, commands: int) -> float:
    conn = connect(root)
    started = time.perf_counter()
    events = 0
    for i in range(commands // len(CYCLE) + 1):
        cid = f"{i:064x}"
        version = 0
        for etype in CYCLE:
            append(conn, "container", cid, version, [Event(etype, payload(etype, i), {"command": "bench"})])
            version += 1
            events += 1
    elapsed = time.perf_counter() - started
    conn.close()
    return events / elapsed


def build_log(root: str, total: int) -> None:
    """Bulk-write a log of `total` events; the projections are then whatever the
    fold says (a few containers left running), written with plain SQL."""
    conn = connect(root)
    conn.execute("BEGIN")
    rows = []
    stamp = now_iso()
    actor = json.dumps({"command": "bench"})
    i = 0
    while len(rows) < total:
        cid = f"{i:064x}"
        cycle = CYCLE if len(rows) + len(CYCLE) <= total - 3 else CYCLE[:2]
        for version, etype in enumerate(cycle, 1):
            rows.append((cid, "container", version, etype, stamp, actor, json.dumps(payload(etype, i))))
        i += 1
    rows = rows[:total]
    conn.executemany("INSERT INTO events (stream_id, stream_type, version, type, time, actor, payload)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    from mydocker.store.db import writer
    from mydocker.store.replay import fold_log

    tables = fold_log(conn)
    db = writer(conn)
    with db.atomic():
        for table, projected in tables.items():
            if projected:
                db[table].insert_all(projected.values())
    conn.close()


def bench_reconcile(root: str, containers: int, repeat: int) -> list[float]:
    """200 'running' containers whose pid and monitor are live sleep processes."""
    from mydocker.statemachine.reconcile import reconcile

    sleepers = [subprocess.Popen(["sleep", "600"]) for _ in range(containers)]
    try:
        conn = connect(root)
        boot = procinfo.boot_id()
        for i, proc in enumerate(sleepers):
            start = procinfo.start_time(proc.pid)
            cid = f"{i:064x}"
            append(conn, "container", cid, 0, [Event("create", create_payload(i))])
            append(conn, "container", cid, 1, [Event("start", payload("start", i, proc.pid, start, boot))])
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            repaired = reconcile(root, conn)
            times.append((time.perf_counter() - started) * 1000)
            assert repaired == [], repaired
        conn.close()
        return times
    finally:
        for proc in sleepers:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=3000)
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind of replay --check")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mydocker-bench-") as tmp:
        rate = bench_append(os.path.join(tmp, "append"), args.appends)
        print(f"append: {rate:,.0f} events/s (one transaction per event, WAL, synchronous=NORMAL)")
        started = time.perf_counter()
        root = os.path.join(tmp, "replay")
        taken, lazy = build_checked_log(root, args.events, plain=True)
        print(f"built a log of {args.events:,} events in {time.perf_counter() - started:.1f} s "
              f"({taken} snapshots of it by backfill in {lazy:.1f} s)")
        lines, _ = check_figures(root, args.runs)
        print(f"replay --check of {args.events:,} events, {taken} snapshots (load {load()}; wall/CPU, CPU "
              "counting the hashing child):")
        for line in lines:
            print(f"- {line}")
        from mydocker.core import roottags

        roottags.unregister(root)  # the commands registered it; it goes with tmp
        times = bench_reconcile(os.path.join(tmp, "reconcile"), args.containers, args.repeat)
        print(f"reconcile with {args.containers} running containers: median {statistics.median(times):.1f} ms, "
              f"max {max(times):.1f} ms")


if __name__ == "__main__":
    main()
