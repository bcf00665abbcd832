#!/usr/bin/env python3
"""What `volume create -o` volumes cost: `run --rm` with a plain named volume beside
one with a tmpfs device (mounted on the host at start, unmounted at the end), and
`ps` on a root without and with such a volume (every reading command's reconcile
looks for volume mounts nobody uses). Medians of interleaved runs, whole CLI
invocations, in a temporary --root removed at the end.

    .venv/bin/python bench/volume_opts.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MYDOCKER = os.path.join(os.path.dirname(sys.executable), "mydocker")


def timed(root: str, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([MYDOCKER, "--root", root, *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="mydocker-bench-volopts-")
    plain_root, device_root = os.path.join(base, "plain"), os.path.join(base, "device")
    try:
        timed(plain_root, "volume", "create", "pv")
        timed(device_root, "volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=8m", "tv")
        rows: dict[str, list[float]] = {k: [] for k in ("run --rm -v plain", "run --rm -v tmpfs -o",
                                                        "ps, no -o volume", "ps, one -o volume")}
        for _ in range(args.repeat):
            rows["run --rm -v plain"].append(timed(plain_root, "run", "--rm", "--network", "none", "-v", "pv:/d",
                                                   "busybox", "true"))
            rows["run --rm -v tmpfs -o"].append(timed(device_root, "run", "--rm", "--network", "none", "-v", "tv:/d",
                                                      "busybox", "true"))
            rows["ps, no -o volume"].append(timed(plain_root, "ps"))
            rows["ps, one -o volume"].append(timed(device_root, "ps"))
        for what, values in rows.items():
            print(f"{what:24} median {statistics.median(values):7.1f} ms  (n={len(values)})")
    finally:
        for root, name in ((plain_root, "pv"), (device_root, "tv")):
            subprocess.run([MYDOCKER, "--root", root, "volume", "rm", name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
        from mydocker.core import roottags

        for root in (plain_root, device_root):
            roottags.unregister(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
