"""`audit export` and `audit serve` on a large log, on this machine:

- export of the container_events view (jsonl and csv), rows per second;
- the server's start-up (command to first answer), the timeline page (its newest 500
  containers, and all), and each canned query.

The log is written straight into the events table (the views and the page read only
events), N containers whose lives end every way the timeline tells apart.

Run: .venv/bin/python bench/audit_site.py [--containers 20000]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mydocker.cli.audit_site.queries import QUERIES  # noqa: E402
from mydocker.store.db import connect  # noqa: E402

MYDOCKER = str(Path(sys.executable).parent / "mydocker")
ACTOR = json.dumps({"command": "bench", "pid": 1, "uid": 0, "user": "root"})
DEATHS = [{"exit_code": 0, "oom_killed": False, "reason": "exited"},
          {"exit_code": 3, "oom_killed": False, "reason": "exited"},
          {"exit_code": 137, "oom_killed": False, "reason": "killed by signal 9"},
          {"exit_code": 137, "oom_killed": True, "reason": "oom"},
          None]  # still running


def write_log(root: str, containers: int) -> int:
    conn = connect(root)
    conn.execute("PRAGMA synchronous = OFF")
    rows = []
    for i in range(containers):
        cid = f"{i:064x}"
        at = f"2026-11-28T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000000:06d}Z"
        added = ["NET_ADMIN"] if i % 13 == 0 else []
        security = {"privileged": i % 97 == 0, "capabilities": ["CHOWN", "KILL", *added]}
        create = {"name": f"bench{i}", "image": f"image{i % 7}", "config": {"spec": {"security": security}}}
        life = [("create", create), ("connect", {"endpoint": {"ports": [
            {"container_port": 80, "host_ip": "", "host_port": 20000 + i % 40000, "proto": "tcp"}]}}),
            ("start", {"pid": 1})]
        death = DEATHS[i % len(DEATHS)]
        if death is not None:
            life += [("die", death), ("disconnect", {}), ("destroy", {})] if i % 2 else [("die", death)]
        rows += [(cid, "container", v + 1, etype, at, ACTOR, json.dumps(p)) for v, (etype, p) in enumerate(life)]
    with conn:
        conn.executemany("INSERT INTO events (stream_id, stream_type, version, type, time, actor, payload)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()
    return len(rows)


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def fetch(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:
        body = response.read()
    return time.perf_counter() - started, len(body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = str(Path(tmp) / "root")
        events = write_log(root, args.containers)
        print(f"log: {args.containers} containers, {events} events")
        for fmt in ("jsonl", "csv"):
            seconds = timed([MYDOCKER, "--root", root, "audit", "export", "--format", fmt])
            print(f"audit export --format {fmt}: {seconds:.2f} s, {events / seconds:,.0f} rows/s")
        started = time.perf_counter()
        server = subprocess.Popen([MYDOCKER, "--root", root, "audit", "serve", "--port", "0"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            match = re.search(r"at (http://\S+/) ", server.stdout.readline())
            assert match
            url = match.group(1)
            fetch(url)
            print(f"audit serve: first answer after {time.perf_counter() - started:.2f} s")
            for path in ("-/timeline", f"-/timeline?limit={args.containers}"):
                seconds, size = fetch(url + path)
                print(f"GET /{path}: {seconds * 1000:.0f} ms, {size / 1024:.0f} KiB")
            for name in QUERIES:
                query = "&name=bench1" if name == "container_life" else ""
                try:
                    seconds, _ = fetch(f"{url}mydocker/{name}.json?_shape=array&_size=max{query}")
                    print(f"canned {name}: {seconds * 1000:.0f} ms")
                except urllib.error.HTTPError as exc:
                    error = re.sub(r"<[^>]+>", "", json.loads(exc.read()).get("error") or "").strip()
                    print(f"canned {name}: HTTP {exc.code} ({error.split('.')[0]})")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
