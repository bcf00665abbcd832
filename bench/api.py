#!/usr/bin/env python3
"""Issue 12's benchmark: the docker CLI through mydocker's Engine API service, beside
mydocker's own CLI and (when one is already running) a real dockerd.

    .venv/bin/python bench/api.py [--repeat N] [--containers 100] [--dockerd unix:///var/run/docker.sock]

Rows (medians of interleaved runs, whole CLI invocations):
  run --rm --network none busybox true
  ps -a with N containers (created, --network none)
The service runs on a temporary --root; everything made here is removed at the end.
dockerd is used only if it answers on --dockerd and has a busybox image; this script
never starts one (PEERS.md says how)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MYDOCKER = str(Path(sys.executable).parent / "mydocker")
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else (shutil.which("docker") or "docker")


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} -> {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return elapsed


def post(sock_path: str, path: str, body: dict) -> dict:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    conn = http.client.HTTPConnection("localhost")
    conn.sock = s
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return json.loads(data) if data else {}


def dockerd_ready(host: str) -> bool:
    env = {**os.environ, "DOCKER_HOST": host}
    try:
        proc = subprocess.run([DOCKER, "image", "inspect", "busybox"], env=env, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--containers", type=int, default=100)
    p.add_argument("--dockerd", default="unix:///var/run/docker.sock", help="a running dockerd to compare with")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mydocker-bench-api-"))
    root, sock = work / "root", work / "api.sock"
    service = subprocess.Popen([MYDOCKER, "--root", str(root), "system", "service", "--listen", f"unix://{sock}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    through_api = {**os.environ, "DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": str(work / "docker-config")}
    reference = {**os.environ, "DOCKER_HOST": args.dockerd, "DOCKER_CONFIG": str(work / "docker-config")}
    with_dockerd = dockerd_ready(args.dockerd)
    made_in_dockerd: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        subprocess.run([MYDOCKER, "--root", str(root), "images"], capture_output=True, check=True)
        run = ["run", "--rm", "--network", "none", "busybox", "true"]
        columns = {"docker -> mydocker service": [DOCKER, *run], "mydocker CLI": [MYDOCKER, "--root", str(root), *run]}
        if with_dockerd:
            columns["docker -> dockerd"] = [DOCKER, *run]
        rows: dict[str, dict[str, list[float]]] = {"run --rm true": {c: [] for c in columns},
                                                   f"ps -a ({args.containers})": {c: [] for c in columns}}
        env_of = {"docker -> mydocker service": through_api, "mydocker CLI": dict(os.environ),
                  "docker -> dockerd": reference}
        for _ in range(args.repeat):
            for column, argv in columns.items():
                rows["run --rm true"][column].append(timed(argv, env_of[column]))
        for _ in range(args.containers):
            post(str(sock), "/v1.41/containers/create", {"Image": "busybox", "Cmd": ["true"],
                                                          "HostConfig": {"NetworkMode": "none"}})
            if with_dockerd:
                made = subprocess.run([DOCKER, "create", "--network", "none", "busybox", "true"], env=reference,
                                      capture_output=True, text=True)
                made_in_dockerd.append(made.stdout.strip())
        ps = {"docker -> mydocker service": [DOCKER, "ps", "-a"], "docker -> dockerd": [DOCKER, "ps", "-a"],
              "mydocker CLI": [MYDOCKER, "--root", str(root), "ps", "-a"]}
        for _ in range(args.repeat):
            for column in columns:
                rows[f"ps -a ({args.containers})"][column].append(timed(ps[column], env_of[column]))
        print(f"| median of {args.repeat} (ms) | " + " | ".join(columns) + " |")
        print("|---|" + "---|" * len(columns))
        for name, cells in rows.items():
            print(f"| {name} | " + " | ".join(f"{statistics.median(v) * 1000:.0f}" for v in cells.values()) + " |")
        if not with_dockerd:
            print(f"(no dockerd with a busybox image at {args.dockerd}: that column is left out)")
    finally:
        for cid in made_in_dockerd:
            subprocess.run([DOCKER, "rm", "-f", cid], env=reference, capture_output=True)
        subprocess.run([MYDOCKER, "--root", str(root), "system", "reset", "-f"], capture_output=True)
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
