"""A real caller: Debian's podman (with conmon) running its containers through
mydocker-runc. Storage, run root, tmp dir, cgroups and the runtime's roots all
live under this module's temp dir (and its own cgroup); no network but none."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.integration.oci_helpers import RUNC, make_rootfs, reap_children

PODMAN = shutil.which("podman")
pytestmark = pytest.mark.skipif(not PODMAN or not shutil.which("conmon"), reason="needs podman and conmon")


def _own_cgroup(controller: str = "memory") -> str:
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            if controller in names.split(","):
                return path
    return "/"


class Podman:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.events_root = base / "mydocker"
        self.runc_root = base / "runc"
        self.wrapper = base / "mydocker-runc"
        self.wrapper.write_text(f'#!/bin/sh\nexec {RUNC} --root {self.runc_root} '
                                f'--events-root {self.events_root} "$@"\n')
        self.wrapper.chmod(0o755)
        self.cgroup_parent = f"{_own_cgroup().rstrip('/')}/mdtest-pod-{secrets.token_hex(3)}"
        self.argv = [PODMAN, "--root", str(base / "storage"), "--runroot", str(base / "run"), "--tmpdir",
                     str(base / "tmp"), "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                     "--runtime", str(self.wrapper)]
        # this sandbox withholds CAP_SYS_RESOURCE: the limits may not exceed ours
        self.run_flags = ["--network", "none", "--cgroup-parent", self.cgroup_parent,
                          "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]

    def __call__(self, *args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([*self.argv, *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, **kwargs)

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self("run", *self.run_flags, *args, **kwargs)

    def events(self, cid: str) -> list[str]:
        with sqlite3.connect(self.events_root / "mydocker.db", timeout=30) as conn:
            streams = [r[0] for r in conn.execute(
                "SELECT stream_id FROM events WHERE type = 'create' AND json_extract(payload, '$.name') = ?",
                (cid,))]
            return [r[0] for s in streams for r in conn.execute(
                "SELECT type FROM events WHERE stream_id = ? ORDER BY version", (s,))]

    def deaths(self, key: str) -> list[tuple[int, str]]:
        """(exit code, reason) of each die of the containers whose create names key
        (their id, or a word of their command)."""
        with sqlite3.connect(self.events_root / "mydocker.db", timeout=30) as conn:
            return [(r[0], r[1]) for r in conn.execute(
                "SELECT json_extract(d.payload, '$.exit_code'), json_extract(d.payload, '$.reason') FROM events c"
                " JOIN events d ON d.stream_id = c.stream_id AND d.type = 'die'"
                " WHERE c.type = 'create' AND instr(c.payload, ?) ORDER BY d.seq", (key,))]

    def cgroup_dirs(self) -> list[Path]:
        found = []
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            top = hierarchy / self.cgroup_parent.lstrip("/")
            if top.is_dir():
                found += sorted((Path(d) for d, _, _ in os.walk(top)), key=lambda p: -len(p.parts))
        return found


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    base = tmp_path_factory.mktemp("podman")
    p = Podman(base)
    rootfs = make_rootfs(base / "rootfs")
    with tarfile.open(base / "busybox.tar", "w") as tar:
        tar.add(rootfs, arcname=".")
    imported = p("import", "-c", "ENV PATH=/bin", str(base / "busybox.tar"), "localhost/mdtest-busybox")
    assert imported.returncode == 0, imported.stderr
    yield p
    leftovers = p("ps", "-aq").stdout.split()
    p("rm", "-af", "-t", "0")
    p("rmi", "-af")
    reap_children()
    leaks = [f"podman container: {c}" for c in leftovers]
    if p.runc_root.is_dir():
        leaks += [f"runtime state: {d.name}" for d in p.runc_root.iterdir() if d.name != "locks"]
    for directory in p.cgroup_dirs():
        if (directory / "cgroup.procs").read_text().strip():
            leaks.append(f"process in cgroup {directory}")
        try:
            directory.rmdir()  # podman's parent and conmon cgroups, which we asked for
        except OSError:
            leaks.append(f"cgroup: {directory}")
    with open("/proc/mounts") as f:
        for line in reversed(f.readlines()):
            if str(base) in line.split()[1]:
                subprocess.run(["umount", "-l", line.split()[1]], check=False)
    shutil.rmtree(base, ignore_errors=True)
    assert not leaks, "podman's containers left host objects behind:\n" + "\n".join(leaks)


IMAGE = "localhost/mdtest-busybox"


def test_run_rm_prints_and_passes_the_exit_code(podman):
    token = f"rm{secrets.token_hex(3)}"
    result = podman.run("--rm", IMAGE, "sh", "-c", f"echo hi from $(hostname); exit 3; {token}")
    assert result.returncode == 3, result.stderr
    assert result.stdout.startswith("hi from ")
    assert podman("ps", "-aq").stdout == ""
    # conmon reaped the init; the exit watcher told the log what the kernel said
    assert podman.deaths(token) == [(3, "exited")]


def test_commands_that_cannot_run_give_127_and_126(podman):
    missing = podman.run("--rm", IMAGE, "nosuchcommand")
    assert missing.returncode == 127, missing.stderr
    assert "executable file not found" in missing.stderr
    not_executable = podman.run("--rm", IMAGE, "/etc/passwd")
    assert not_executable.returncode == 126, not_executable.stderr


def test_detached_exec_memory_stop_rm_and_the_event_log(podman):
    name = f"web{secrets.token_hex(2)}"
    started = podman.run("-d", "--name", name, "-m", "64m", IMAGE, "top")
    assert started.returncode == 0, started.stderr
    cid = started.stdout.strip()
    try:
        listed = podman("ps", "--format", "{{.Names}} {{.Status}}").stdout
        assert f"{name} Up" in listed
        execd = podman("exec", name, "sh", "-c",
                       "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
                       "cat /sys/fs/cgroup/memory.max; exit 4")
        assert execd.returncode == 4, execd.stderr
        assert execd.stdout.strip() == str(64 * 1024 * 1024)
        state = json.loads(subprocess.run([RUNC, "--root", str(podman.runc_root), "state", cid],
                                          capture_output=True, text=True, timeout=30).stdout)
        assert state["status"] == "running" and state["id"] == cid
        stopped = podman("stop", "-t", "2", name)
        assert stopped.returncode == 0, stopped.stderr
        status = podman("ps", "-a", "--filter", f"name={name}", "--format", "{{.Status}}").stdout
        assert status.startswith("Exited (143)")
    finally:
        removed = podman("rm", "-f", "-t", "0", name)
    assert removed.returncode == 0, removed.stderr
    events = podman.events(cid)
    assert podman.deaths(cid) == [(143, "exited")]
    assert events[:2] == ["create", "start"]
    assert "kill" in events and events[-2:] == ["destroying", "destroy"]


def test_terminal_through_conmons_console_socket(podman):
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([*podman.argv, "run", *podman.run_flags, "--rm", "-t", IMAGE, "sh", "-c",
                                 "tty; exit 6"], stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        code = proc.wait(timeout=120)
        output = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(master)
    assert code == 6, output
    assert b"/dev/pts/0" in output
