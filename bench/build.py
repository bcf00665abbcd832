#!/usr/bin/env python3
"""Cold and cached builds of a 10-step Dockerfile, mydocker beside docker 20.10's
classic builder (DOCKER_BUILDKIT=0), both with --network none.

  cold     --no-cache: every RUN in a new container, every step a new image
  cached   the same context again: every step says `Using cache`

Wall-clock of the whole CLI invocation, repeated (--repeat, default 5), median
and p90 in ms, interleaved per repetition. docker builds FROM an import of our
own busybox layer, so both build on the same files. docker is skipped when its
engine does not answer; what the bench made in docker is removed after.

Run: .venv/bin/python bench/build.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MYDOCKER = str(Path(sys.executable).parent / "mydocker")

DOCKERFILE = """\
FROM {base}
ARG V=1
ENV APP=/app MODE=bench
WORKDIR /app
COPY src/ /app/src/
RUN echo "built $V" > /app/version
RUN cat /app/src/*.txt | wc -c > /app/bytes
LABEL org.example.bench=yes
EXPOSE 8080
CMD ["cat", "/app/version"]
"""


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, **(env or {})})
    return (time.perf_counter() - start) * 1000


def docker_ok(docker: str) -> bool:
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return f"  {name:<22} median {statistics.median(values):8.1f} ms   p90 {p90:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--docker", default=shutil.which("docker") or "docker")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mydocker-bench-build-"))
    root = work / "root"
    md = [MYDOCKER, "--root", str(root)]
    tag = f"mydocker-bench-build-{secrets.token_hex(4)}"
    use_docker = docker_ok(args.docker)
    results: dict[str, list[float]] = {}
    try:
        subprocess.run([*md, "images"], check=True, stdout=subprocess.DEVNULL)
        ours, theirs = work / "ours", work / "theirs"
        for ctx, base in ((ours, "busybox"), (theirs, f"{tag}-base")):
            (ctx / "src").mkdir(parents=True)
            for k in range(20):
                (ctx / "src" / f"f{k}.txt").write_text(f"file {k}\n" * 50)
            (ctx / "Dockerfile").write_text(DOCKERFILE.format(base=base))
        if use_docker:
            with sqlite3.connect(root / "mydocker.db") as conn:
                layer = json.loads(conn.execute(
                    "SELECT layers FROM images, json_each(images.tags) WHERE json_each.value = 'busybox:latest'"
                ).fetchone()[0])[0]
            tar = work / "busybox.tar"
            subprocess.run(["tar", "-C", str(root / "layers" / layer), "-cf", str(tar), "."], check=True)
            subprocess.run([args.docker, "import", "-c", "ENV PATH=/bin", str(tar), f"{tag}-base"], check=True,
                           stdout=subprocess.DEVNULL)
        docker_env = {"DOCKER_BUILDKIT": "0"}
        for _ in range(args.repeat):
            results.setdefault("mydocker cold", []).append(
                timed([*md, "build", "--no-cache", "--network", "none", "-t", "bench:1", str(ours)]))
            results.setdefault("mydocker cached", []).append(
                timed([*md, "build", "--network", "none", "-t", "bench:1", str(ours)]))
            if use_docker:
                results.setdefault("docker cold", []).append(
                    timed([args.docker, "build", "--no-cache", "--network", "none", "-t", tag, str(theirs)],
                          docker_env))
                results.setdefault("docker cached", []).append(
                    timed([args.docker, "build", "--network", "none", "-t", tag, str(theirs)], docker_env))
    finally:
        if use_docker:
            subprocess.run([args.docker, "rmi", "-f", tag, f"{tag}-base"], capture_output=True)
        subprocess.run([*md, "system", "reset", "-f"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"10-step Dockerfile (2 RUN, 1 COPY of 20 files), {args.repeat} runs each:")
    for name, values in results.items():
        print(summary(name, values))
    if not use_docker:
        print("  (docker: no engine answered; skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
