"""mydocker-runc beside runc on one busybox bundle: medians (ms) of `run` of
`true` (create + start + wait + delete), of `create` alone (the callers' path:
conmon and the shim create, then start; ours starts the exit watcher there) and
of `state`, the call callers repeat.

    sudo .venv/bin/python bench/oci_latency.py [ROUNDS]

Everything (bundle, runtime roots, event log, cgroups) lives in a temp dir and
under this process's own cgroup, and is removed after.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.oci_helpers import RUNC, base_config, make_rootfs  # noqa: E402


def median_ms(argvs: list[list[str]], cwd: Path) -> float:
    times = []
    for argv in argvs:
        start = time.perf_counter()
        # not pipes: a created container's init keeps its stdio open
        with tempfile.TemporaryFile() as err:
            proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                err.seek(0)
                raise SystemExit(f"{' '.join(argv)}: {err.read().decode()}")
    return statistics.median(times) * 1000


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    tmp = Path(tempfile.mkdtemp(prefix="oci-bench-"))
    try:
        bundle = tmp / "bundle"
        bundle.mkdir()
        make_rootfs(bundle / "rootfs")
        (bundle / "config.json").write_text(json.dumps(base_config(["true"], "mdbench-oci")))
        ours = [RUNC, "--root", str(tmp / "ours"), "--events-root", str(tmp / "log")]
        rows = [("mydocker-runc", ours)]
        if shutil.which("runc"):
            rows.append(("runc", ["runc", "--root", str(tmp / "runc")]))
        for name, base in rows:
            run = median_ms([[*base, "run", f"b{i}"] for i in range(rounds)], bundle)
            creates = []
            for i in range(rounds):  # one at a time: the bundle names one cgroup
                creates.append(median_ms([[*base, "create", f"c{i}"]], bundle))
                subprocess.run([*base, "delete", "--force", f"c{i}"], cwd=bundle, check=True,
                               stdout=subprocess.DEVNULL)
            create = statistics.median(creates)
            subprocess.run([*base, "create", "s"], cwd=bundle, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            state = median_ms([[*base, "state", "s"] for _ in range(rounds)], bundle)
            subprocess.run([*base, "delete", "--force", "s"], cwd=bundle, check=True, stdout=subprocess.DEVNULL)
            print(f"{name:<14} run true {run:7.0f} ms   create {create:6.0f} ms   state {state:6.0f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
