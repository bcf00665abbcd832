#!/usr/bin/env python3
"""Pull from a local registry: mydocker beside docker and podman.

A docker-registry is started on 127.0.0.1 (a free port, storage in a temporary
directory). Two images are put in it with skopeo from OCI layouts made here:

  big      5 layers, ~100 MB in all (busybox, then 4 layers of ~25 MB of files,
           half of them incompressible), gzip
  ten      10 small layers on busybox (for `run --rm`)

Timed (wall clock, --repeat N, median):
  pull cold     nothing of the image stored (mydocker: a fresh --root; peers: rmi first)
  pull warm     the image is stored already (all layers present)
  run --rm ten  `run --rm --network none IMAGE true`, beside the same with busybox

Peers are used only when they already work: docker when its daemon answers,
podman when installed (`--tls-verify=false`). Whatever this adds to them is
removed at the end; the registry is stopped and its directory removed.

    .venv/bin/python bench/pull.py [--repeat 3] [--runtimes mydocker,docker,podman]
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.integration.registry_server import Layout, Registry, tar_of  # noqa: E402

MYDOCKER = str(Path(sys.executable).parent / "mydocker")
BUSYBOX = shutil.which("busybox") or "/bin/busybox"


def busybox_layer() -> bytes:
    return tar_of({"bin/busybox": Path(BUSYBOX).read_bytes()},
                  symlinks={f"bin/{a}": "busybox" for a in ("sh", "true", "echo", "ls")}, dirs=["bin", "etc", "tmp"])


def data_layer(i: int, megabytes: int) -> bytes:
    """Many files, half random (incompressible), half text (compressible)."""
    files: dict[str, bytes | str] = {}
    for n in range(megabytes * 4):
        size = 256 << 10
        files[f"data{i}/f{n}"] = os.urandom(size) if n % 2 else (f"line {n} of layer {i}\n" * (size // 20))[:size]
    return tar_of(files)


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, **(env or {})})
    return time.perf_counter() - start


def quiet(cmd: list[str]) -> None:
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def docker_works() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True, timeout=20, check=False).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runtimes", default="mydocker,docker,podman")
    args = parser.parse_args()
    wanted = args.runtimes.split(",")
    work = Path(tempfile.mkdtemp(prefix="mydocker-bench-pull-"))
    registry = Registry(work / "registry")
    results: dict[str, list[float]] = {}
    roots: list[Path] = []
    peers = []
    if "docker" in wanted and docker_works():
        peers.append("docker")
    if "podman" in wanted and shutil.which("podman"):
        peers.append("podman")
    big = f"{registry.host}/bench/big:1"
    ten = f"{registry.host}/bench/ten:1"
    try:
        layout = Layout(work / "layout")
        base = busybox_layer()
        layout.tag("big", layout.image([base, *[data_layer(i, 25) for i in range(4)]]))
        layout.tag("ten", layout.image([base, *[tar_of({f"etc/l{i}": f"{i}\n"}) for i in range(9)]]))
        layout.copy("big", registry.host, "bench/big:1")
        layout.copy("ten", registry.host, "bench/ten:1")

        def record(key: str, seconds: float) -> None:
            results.setdefault(key, []).append(seconds)

        for _ in range(args.repeat):
            if "mydocker" in wanted:
                root = Path(tempfile.mkdtemp(prefix="root-", dir=work))
                roots.append(root)
                md = [MYDOCKER, "--root", str(root)]
                record("mydocker pull cold", timed([*md, "pull", big]))
                record("mydocker pull warm", timed([*md, "pull", big]))
                timed([*md, "pull", ten])
                timed([*md, "run", "--rm", "--network", "none", "busybox", "true"])  # builds busybox
                record("mydocker run --rm busybox", timed([*md, "run", "--rm", "--network", "none", "busybox", "true"]))
                record("mydocker run --rm ten-layer", timed([*md, "run", "--rm", "--network", "none", ten, "true"]))
            for peer in peers:
                extra = ["--tls-verify=false"] if peer == "podman" else []
                quiet([peer, "rmi", "-f", big])
                record(f"{peer} pull cold", timed([peer, "pull", *extra, big]))
                record(f"{peer} pull warm", timed([peer, "pull", *extra, big]))
    finally:
        for peer in peers:
            quiet([peer, "rmi", "-f", big, ten])
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'':32} {'median s':>9} {'min s':>7}  (n={args.repeat})")
    for key, values in results.items():
        print(f"{key:32} {statistics.median(values):9.2f} {min(values):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
