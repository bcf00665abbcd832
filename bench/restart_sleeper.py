#!/usr/bin/env python3
"""Memory of what waits while a container is `restarting` (its restart policy's
sleeper), against the monitor budget (<= 12 MB RSS, <= 5 MB Pss_Anon).

A real one: a container of a fresh temporary --root, `--restart always`, whose
command exits at once; the sleeper is caught asleep (SIGSTOP, so it stays), its
/proc/PID/smaps_rollup read, then the container removed with rm -f and the root
deleted. Run as root:  .venv/bin/python bench/restart_sleeper.py
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MYDOCKER = str(Path(sys.executable).parent / "mydocker")
BUDGET = {"Rss": 12.0, "Pss_Anon": 5.0}


def rollup(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split()[:2]
        out[key.rstrip(":")] = int(value) / 1024
    return out


def main() -> int:
    root = tempfile.mkdtemp(prefix="md-bench-sleeper-")
    md = [MYDOCKER, "--root", root]
    try:
        subprocess.run([*md, "run", "-d", "--name", "bench-sleeper", "--network", "none", "--restart", "always",
                        "busybox", "true"], check=True, capture_output=True)
        db = sqlite3.connect(os.path.join(root, "mydocker.db"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state, pid = db.execute("SELECT state, monitor_pid FROM containers").fetchone()
            if state == "restarting" and pid:
                os.kill(pid, signal.SIGSTOP)
                if b"waiter.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    break
                os.kill(pid, signal.SIGCONT)
            time.sleep(0.01)
        else:
            print("never caught the sleeper asleep")
            return 1
        mem = rollup(pid)
        ok = all(mem[k] <= v for k, v in BUDGET.items())
        print(f"restart sleeper: RSS {mem['Rss']:.1f} MB, Pss_Anon {mem['Pss_Anon']:.1f} MB "
              f"(budget {BUDGET['Rss']:.0f} / {BUDGET['Pss_Anon']:.0f}): {'within' if ok else 'OVER'}")
        db.close()
        subprocess.run([*md, "rm", "-f", "bench-sleeper"], check=True, capture_output=True)
        return 0 if ok else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
