"""Integration fixtures: a private --root per test and a leak check after it.

After every test the fixture looks for anything of that test's containers left
on the host — state directories, cgroups, live container or monitor processes,
mounts — fails the test if it finds any, and then removes it so one leak does
not cascade into the next test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

MYDOCKER = str(Path(sys.executable).parent / "mydocker")

pytestmark = pytest.mark.integration

if os.geteuid() != 0:
    pytest.skip("integration tests need root", allow_module_level=True)


@dataclass
class Result:
    code: int
    out: str
    err: str


class Runtime:
    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, input: str | None = None, timeout: float = 60, env: dict | None = None) -> Result:
        proc = subprocess.run(
            [MYDOCKER, "--root", str(self.root), *args],
            input=input, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, **(env or {})}, stdin=None if input is not None else subprocess.DEVNULL,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kwargs) -> str:
        result = self(*args, **kwargs)
        assert result.code == 0, f"mydocker {' '.join(args)} -> {result.code}: {result.err}"
        return result.out

    def inspect(self, ref: str) -> dict:
        return json.loads(self.ok("inspect", ref))[0]

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "mydocker.db")

    def events(self, container_id: str) -> list[str]:
        with self.db() as conn:
            return [r[0] for r in conn.execute(
                "SELECT type FROM events WHERE stream_id = ? ORDER BY version", (container_id,))]


CONTAINER_CREATES = "SELECT payload FROM events WHERE type = 'create' AND stream_type = 'container'"


def _alive(pid: int | None, start: int | None) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return False
    fields = raw[raw.rindex(b")") + 2:].split()
    return fields[0] != b"Z" and int(fields[19]) == start


def find_leaks(root: Path) -> list[str]:
    leaks: list[str] = []
    db = root / "mydocker.db"
    if not db.exists():
        return leaks
    conn = sqlite3.connect(db)
    try:
        for (name,) in conn.execute("SELECT name FROM containers"):
            leaks.append(f"container not removed: {name}")
        for (payload,) in conn.execute(CONTAINER_CREATES):
            cgroups = json.loads(payload)["config"]["spec"]["cgroups"]
            leaks += [f"cgroup: {d}" for d in cgroups.values() if os.path.isdir(d)]
        for (payload,) in conn.execute("SELECT payload FROM events WHERE type = 'start'"):
            p = json.loads(payload)
            if _alive(p["pid"], p["pid_start"]):
                leaks.append(f"container process: {p['pid']}")
            if _alive(p["monitor_pid"], p["monitor_start"]):
                leaks.append(f"monitor process: {p['monitor_pid']}")
    finally:
        conn.close()
    containers = root / "containers"
    if containers.is_dir():
        leaks += [f"state directory: {d}" for d in containers.iterdir()]
    # The root and every host path a test uses live under the test's tmp dir
    # (root.parent): a bind mount of a volume must never show on the host.
    with open("/proc/mounts") as f:
        leaks += [f"mount: {line.split()[1]}" for line in f if str(root.parent) in line]
    return leaks


def force_clean(root: Path) -> None:
    """Best effort, after a leak was reported: kill, unmount, remove."""
    db = root / "mydocker.db"
    if db.exists():
        conn = sqlite3.connect(db)
        for (payload,) in conn.execute("SELECT payload FROM events WHERE type = 'start'"):
            p = json.loads(payload)
            for pid, start in ((p["pid"], p["pid_start"]), (p["monitor_pid"], p["monitor_start"])):
                if _alive(pid, start):
                    os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        for (payload,) in conn.execute(CONTAINER_CREATES):
            for d in json.loads(payload)["config"]["spec"]["cgroups"].values():
                for _ in range(50):
                    try:
                        os.rmdir(d)
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        for pid in Path(d, "cgroup.procs").read_text().split():
                            try:
                                os.kill(int(pid), signal.SIGKILL)
                            except ProcessLookupError:
                                pass
                        time.sleep(0.05)
        conn.close()
    with open("/proc/mounts") as f:
        for line in reversed(f.readlines()):
            if str(root.parent) in line:
                subprocess.run(["umount", "-l", line.split()[1]], check=False)


@pytest.fixture
def md(tmp_path: Path):
    root = tmp_path / "root"
    runtime = Runtime(root)
    yield runtime
    leaks = find_leaks(root)
    force_clean(root)
    shutil.rmtree(tmp_path, ignore_errors=True)
    assert not leaks, "the test left host objects behind:\n" + "\n".join(leaks)
