"""Soak: many container lives in a row, and many commands at once, leave nothing behind.

`make test` runs them small (MYDOCKER_SOAK_CYCLES=20 cycles, a 20 s hammer);
`make soak` runs 1,000 cycles and a 2-minute hammer. After each: no process,
mount, cgroup, link, iptables rule or file more than before; no monitor left;
the projections back to their rows before; the database grown by the events only."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

from tests.integration.conftest import MYDOCKER, NetworkObjects, find_leaks

CYCLES = int(os.environ.get("MYDOCKER_SOAK_CYCLES", "20"))
HAMMER_SECONDS = float(os.environ.get("MYDOCKER_SOAK_SECONDS", "20"))
WORKERS, CONTAINERS = 8, 20


def _snapshot(md) -> dict:
    """What this root has on the host and in its database, in comparable form."""
    from mydocker.core import cgroups
    from mydocker.statemachine.context import Context

    root = str(md.root)
    objects = NetworkObjects.of(md.root)
    links = sorted(name for name, _alias in objects.links())
    processes = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if root.encode() in f.read():
                    processes.append(pid)
        except OSError:
            continue
    files = sorted(str(p.relative_to(md.root)) for p in md.root.rglob("*")
                   if not p.name.startswith(("mydocker.db", "reserve"))
                   and not str(p.relative_to(md.root)).startswith("layers"))
    with closing(md.db()) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if r[0] not in ("events", "sqlite_sequence", "stream_spans")]  # the log and its spans grow
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    return {
        "processes (monitors too)": processes,
        "cgroups": sorted(cgroups.find_ours(Context(root).tag)),
        "links": links,
        "rules": sorted(objects.rules()),
        "mounts": [line.split()[1] for line in open("/proc/mounts") if str(md.root.parent) in line],
        "files": files,
        "rows": rows,
    }


def _db_usage(md) -> tuple[int, int, int]:
    """(bytes in use by the database file, last event seq, bytes of all events' data)."""
    with closing(sqlite3.connect(md.root / "mydocker.db", timeout=30)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = pages * conn.execute("PRAGMA page_size").fetchone()[0]
        seq, data = conn.execute(
            "SELECT max(seq), sum(length(stream_id) + length(stream_type) + length(type) + length(time)"
            " + length(actor) + length(payload) + 16) FROM events").fetchone()
    return size, seq, data


def _settled(md, before: dict) -> dict:
    """The snapshot once the last monitors have exited (they record, then go)."""
    deadline = time.monotonic() + 30
    while True:
        after = _snapshot(md)
        if after == before or time.monotonic() > deadline:
            return after
        time.sleep(0.2)


def _assert_no_growth_but_events(md, before: dict, usage_before: tuple[int, int, int]) -> None:
    after = _settled(md, before)
    assert after == before, json.dumps({k: (before[k], after[k]) for k in before if before[k] != after[k]}, indent=1)
    assert find_leaks(md.root) == []
    size, _seq, data = _db_usage(md)
    grown, events_data = size - usage_before[0], data - usage_before[2]
    # Each event row is stored once in the table and in its four indexes (stream,
    # time, type, stream type); nothing else may grow with the number of cycles.
    assert grown <= 2 * events_data + (256 << 10), (grown, events_data)
    md.ok("replay", "--check")
    assert md.ok("system", "check").endswith("the log and the kernel agree\n")


def _warm(md) -> None:
    """Build the image and the default bridge once, so the baseline has them."""
    md.ok("run", "--rm", "busybox", "true")


def test_many_run_rm_on_the_default_bridge_leave_nothing(md):
    _warm(md)
    before, usage = _snapshot(md), _db_usage(md)
    for i in range(CYCLES):
        result = md("run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr show eth0 | wc -l")
        assert (result.code, result.out, result.err) == (0, "1\n", ""), (i, result)
    _assert_no_growth_but_events(md, before, usage)
    with closing(md.db()) as conn:
        assert conn.execute("SELECT count(*) FROM events WHERE type = 'destroy'").fetchone()[0] == CYCLES + 1


def test_many_detached_runs_and_forced_removals_leave_nothing(md):
    _warm(md)
    before, usage = _snapshot(md), _db_usage(md)
    for i in range(CYCLES):
        cid = md.ok("run", "-d", "busybox", "sleep", "1000").strip()
        assert md.ok("rm", "-f", cid) == f"{cid}\n", i
    _assert_no_growth_but_events(md, before, usage)


# --- the hammer --------------------------------------------------------------------

# What the commands may answer when another worker got there first; anything else
# (above all "database is locked" or a traceback) is a failure.
EXPECTED = ("No such container", "is already in use", "is not running", "cannot be started from state",
            "in state", "OCI runtime exec failed")


def _worker(md, seed: int, deadline: float) -> tuple[Counter, list[str]]:
    rng = random.Random(seed)
    done: Counter = Counter()
    bad: list[str] = []
    env = {**os.environ, **md.env}
    while time.monotonic() < deadline:
        name = f"h{rng.randrange(CONTAINERS)}"
        op = rng.choice(["create", "start", "stop", "rm", "exec", "ps", "create", "start"])
        args = {
            "create": ["create", "--name", name, "--network", "none", "busybox", "sleep", "1000"],
            "start": ["start", name],
            "stop": ["stop", "-t", "0", name],
            "rm": ["rm", "-f", name],
            "exec": ["exec", name, "true"],
            "ps": ["ps", "-a"],
        }[op]
        proc = subprocess.run([MYDOCKER, "--root", str(md.root), *args], capture_output=True, text=True,
                              timeout=120, env=env, stdin=subprocess.DEVNULL)
        if proc.returncode == 0:
            done[op] += 1
            continue
        err = proc.stderr.strip()
        if op == "exec" and proc.returncode == 137 and not err:
            # A `stop -t 0` or `rm -f` in another worker killed the container, and
            # the exec'd process with it, as docker's exec answers 137 then.
            done["exec killed"] += 1
            continue
        if ("locked" in err or "Traceback" in err or err.count("\n") > 0
                or not err.startswith("Error") or not any(e in err for e in EXPECTED)):
            bad.append(f"{' '.join(args)} -> {proc.returncode}: {err}")
    return done, bad


def _check_streams(md) -> None:
    """Every container stream is a life the machine allows: versions 1..n without a
    gap, one create first, starts and dies alternating, each exec ended, destroy last."""
    with closing(md.db()) as conn:
        streams: dict[str, list[tuple[int, str]]] = {}
        for sid, version, etype in conn.execute(
                "SELECT stream_id, version, type FROM events WHERE stream_type = 'container' ORDER BY seq"):
            streams.setdefault(sid, []).append((version, etype))
    for sid, events in streams.items():
        versions = [v for v, _ in events]
        types = [t for _, t in events]
        assert versions == list(range(1, len(events) + 1)), (sid, events)
        assert types[0] == "create" and types.count("create") == 1, (sid, types)
        running = False
        for t in types:
            if t == "start":
                assert not running, (sid, types)
                running = True
            elif t == "die":
                assert running, (sid, types)
                running = False
        assert types.count("destroy") <= 1 and ("destroy" not in types or types[-1] == "destroy"), (sid, types)
        assert types.count("exec_start") == types.count("exec_die"), (sid, types)


def test_eight_processes_hammering_twenty_containers(md):
    _warm(md)
    before = _snapshot(md)
    for i in range(0, CONTAINERS, 2):  # half of them exist from the start
        md.ok("create", "--name", f"h{i}", "--network", "none", "busybox", "sleep", "1000")
    try:
        deadline = time.monotonic() + HAMMER_SECONDS
        with ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(lambda seed: _worker(md, seed, deadline), range(WORKERS)))
        done = sum((c for c, _ in results), Counter())
        bad = [line for _, lines in results for line in lines]
        assert not bad, "\n".join(bad[:20])
        assert sum(done.values()) >= WORKERS, done
        _check_streams(md)
        md.ok("replay", "--check")
        assert md.ok("system", "check").endswith("the log and the kernel agree\n")
    finally:
        ids = md.ok("ps", "-aq").split()
        if ids:
            md.ok("rm", "-f", *ids)
    _check_streams(md)
    after = _settled(md, before)
    assert after == before, json.dumps({k: (before[k], after[k]) for k in before if before[k] != after[k]}, indent=1)
