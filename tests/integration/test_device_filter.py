"""--device-cgroup-rule and the default allow-list on cgroup v2 (issue 10, helper
flags3): the eBPF program core.devicefilter assembles, attached for real to a v2
cgroup. This host's controllers may be on v1, but the unified hierarchy is always
there: the test mounts it in a private mount namespace, nests a cgroup under its
own, and opens device nodes from a process inside it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = r'''
import json, os, sys
from mydocker.core import devicefilter, syscalls as sc

base, rules = sys.argv[1], json.loads(sys.argv[2])
sc.unshare(sc.CLONE_NEWNS)
sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
os.makedirs(base + "/cg")
sc.mount("none", base + "/cg", "cgroup2")
own = [line.split(":", 2)[2].strip() for line in open("/proc/self/cgroup") if line.startswith("0::")][0]
cgroup = os.path.join(base + "/cg" + own.rstrip("/"), f"mydocker-test-devfilter-{os.getpid()}")
os.mkdir(cgroup)
try:
    devicefilter.attach(cgroup, rules)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        with open(cgroup + "/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))
        results = {}
        for path, mode in (("/dev/null", os.O_RDONLY), ("/dev/null", os.O_WRONLY), ("/dev/zero", os.O_RDONLY),
                           ("/dev/zero", os.O_WRONLY), ("/dev/full", os.O_RDONLY)):
            key = f"{path}:{'w' if mode else 'r'}"
            try:
                os.close(os.open(path, mode))
                results[key] = "ok"
            except PermissionError:
                results[key] = "EPERM"
        try:
            os.mknod(base + "/node", 0o600 | 0o020000, os.makedev(1, 3))
            results["mknod"] = "ok"
        except PermissionError:
            results["mknod"] = "EPERM"
        os.write(w, json.dumps(results).encode())
        os._exit(0)
    os.close(w)
    out = os.read(r, 65536)
    os.waitpid(child, 0)
    print(out.decode())
finally:
    os.rmdir(cgroup)
'''


def _probe(tmp_path, rules: list[str]) -> dict[str, str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), json.dumps(rules)], capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0 and "cgroup2" in proc.stderr and "mount" in proc.stderr:
        pytest.skip(f"no cgroup v2 hierarchy to mount here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_only_the_rules_devices_and_accesses_pass(tmp_path):
    # null read-write, zero read-only, nothing else (full is 1:7), no mknod
    got = _probe(tmp_path, ["c 1:3 rw", "c 1:5 r"])
    assert got == {"/dev/null:r": "ok", "/dev/null:w": "ok", "/dev/zero:r": "ok", "/dev/zero:w": "EPERM",
                   "/dev/full:r": "EPERM", "mknod": "EPERM"}


def test_wildcards_and_mknod(tmp_path):
    got = _probe(tmp_path, ["c *:* m", "c 1:* r"])
    assert got == {"/dev/null:r": "ok", "/dev/null:w": "EPERM", "/dev/zero:r": "ok", "/dev/zero:w": "EPERM",
                   "/dev/full:r": "ok", "mknod": "ok"}
    assert set(_probe(tmp_path / "all", ["a *:* rwm"]).values()) == {"ok"}
