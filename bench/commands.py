#!/usr/bin/env python3
"""Latency of the everyday commands issue 10 added, mydocker beside docker 20.10.

Wall-clock time of whole CLI invocations on one running busybox container
(--network none), repeated (--repeat, default 11), median and p90 in ms,
interleaved per repetition so a shared machine's noise falls on both alike:

  pause + unpause        two invocations, one freeze and one thaw
  restart -t 0           stop (SIGKILL at once) and start again
  cp file in             a 4 kB host file into the running container
  cp file out            the same file back to the host
  diff                   of a container that changed three paths
  top                    the host's ps, only the container's processes
  stats --no-stream      two readings one second apart (docker: its own interval)
  rename                 and back (two invocations)

Run: .venv/bin/python bench/commands.py [--repeat 11] [--docker /usr/bin/docker]
docker is skipped when its engine does not answer.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

MYDOCKER = str(Path(sys.executable).parent / "mydocker")


def timed(argvs: list[list[str]]) -> float:
    start = time.perf_counter()
    for argv in argvs:
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def operations(cli: list[str], name: str, tmp: str) -> dict[str, Callable[[], float]]:
    src = Path(tmp, "in.bin")
    src.write_bytes(os.urandom(4096))
    return {
        "pause + unpause": lambda: timed([[*cli, "pause", name], [*cli, "unpause", name]]),
        "restart -t 0": lambda: timed([[*cli, "restart", "-t", "0", name]]),
        "cp file in": lambda: timed([[*cli, "cp", str(src), f"{name}:/tmp/in.bin"]]),
        "cp file out": lambda: timed([[*cli, "cp", f"{name}:/tmp/in.bin", str(Path(tmp, "out.bin"))]]),
        "diff": lambda: timed([[*cli, "diff", name]]),
        "top": lambda: timed([[*cli, "top", name]]),
        "stats --no-stream": lambda: timed([[*cli, "stats", "--no-stream", name]]),
        "rename (and back)": lambda: timed([[*cli, "rename", name, name + "-x"], [*cli, "rename", name + "-x", name]]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="latency of the issue-10 commands")
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--docker", default="/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-cmd-")
    tmp = tempfile.mkdtemp(prefix="bench-cmd-files-")
    name = f"benchcmd-{secrets.token_hex(3)}"
    sides = {"mydocker": [MYDOCKER, "--root", root]}
    docker_ok = shutil.which(args.docker) and subprocess.run(
        [args.docker, "info"], capture_output=True).returncode == 0
    if docker_ok:
        sides["docker"] = [args.docker]
    ops = {}
    try:
        for label, cli in sides.items():
            subprocess.run([*cli, "run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
                            "mkdir -p /new; echo x > /new/f; rm -f /bin/ls; sleep 100000"],
                           check=True, capture_output=True)
            ops[label] = operations(cli, name, tmp)
        results: dict[str, dict[str, list[float]]] = {label: {op: [] for op in ops[label]} for label in ops}
        for i in range(args.repeat):
            for op in ops["mydocker"]:
                order = list(ops) if i % 2 == 0 else list(reversed(ops))
                for label in order:
                    results[label][op].append(ops[label][op]())
        print(f"{'operation':<20} " + " ".join(f"{label + ' median / p90 (ms)':>32}" for label in ops))
        for op in ops["mydocker"]:
            cells = []
            for label in ops:
                values = sorted(results[label][op])
                p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
                cells.append(f"{statistics.median(values):>20.0f} / {p90:<9.0f}")
            print(f"{op:<20} " + " ".join(cells))
    finally:
        for cli in sides.values():
            subprocess.run([*cli, "rm", "-f", name], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
