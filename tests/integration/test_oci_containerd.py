"""A real caller: Debian's containerd and its runc shim, driven by `ctr` with
--runc-binary pointing at mydocker-runc. containerd runs for this module only,
on a private socket with its root, state, runc root and cgroups under a temp
dir (and our own cgroup), and is stopped after."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.integration.oci_helpers import RUNC, make_rootfs, reap_children

CONTAINERD = shutil.which("containerd")
CTR = shutil.which("ctr")
pytestmark = pytest.mark.skipif(not CONTAINERD or not CTR or not shutil.which("containerd-shim-runc-v2"),
                                reason="needs containerd, ctr and containerd-shim-runc-v2")
IMAGE = "docker.io/library/mdtest-busybox:latest"


def _own_cgroup() -> str:
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            if "memory" in names.split(","):
                return path
    return "/"


def oci_layout_tar(rootfs: Path, out: Path) -> None:
    """An OCI image layout (one layer) as `ctr image import` reads it."""
    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as tar:
        tar.add(rootfs, arcname=".")
    diff_id = hashlib.sha256(layer_tar.getvalue()).hexdigest()
    layer = gzip.compress(layer_tar.getvalue(), mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"]},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]}}).encode()
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": f"sha256:{digest}", "size": len(data)}

    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blob(layer)}],
    }).encode()
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(manifest),
        "annotations": {"io.containerd.image.name": IMAGE, "org.opencontainers.image.ref.name": "latest"}}]}
    with tarfile.open(out, "w") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        add("index.json", json.dumps(index).encode())
        for digest, data in blobs.items():
            add(f"blobs/sha256/{digest}", data)


class Containerd:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.socket = base / "containerd.sock"
        self.events_root = base / "mydocker"
        self.runc_root = base / "runc"
        self.wrapper = base / "mydocker-runc"
        self.wrapper.write_text(f'#!/bin/sh\nexec {RUNC} --events-root {self.events_root} "$@"\n')
        self.wrapper.chmod(0o755)
        self.cgroup_parent = f"{_own_cgroup().rstrip('/')}/mdtest-ctr-{secrets.token_hex(3)}"
        self.namespace = f"mdtest{secrets.token_hex(3)}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        config = self.base / "config.toml"
        config.write_text("\n".join([
            "version = 2",
            f'root = "{self.base / "root"}"',
            f'state = "{self.base / "state"}"',
            'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",'
            ' "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",'
            ' "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]',
            "[grpc]",
            f'  address = "{self.socket}"',
            "[ttrpc]",
            f'  address = "{self.base / "ttrpc.sock"}"',
            "",
        ]))
        log = open(self.base / "containerd.log", "wb")
        self.proc = subprocess.Popen([CONTAINERD, "--config", str(config)], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while self.ctr("version").returncode != 0:
            assert self.proc.poll() is None, (self.base / "containerd.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "containerd did not come up"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def ctr(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([CTR, "--address", str(self.socket), "--namespace", self.namespace, *args],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def run(self, cid: str, *args: str) -> subprocess.CompletedProcess:
        return self.ctr("run", "--runc-binary", str(self.wrapper), "--runc-root", str(self.runc_root),
                        "--fifo-dir", str(self.base / "fifo"),
                        "--cgroup", f"{self.cgroup_parent}/{cid}", *args)

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

@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    base = tmp_path_factory.mktemp("containerd")
    c = Containerd(base)
    c.start()
    leaks: list[str] = []
    try:
        archive = base / "busybox-oci.tar"
        oci_layout_tar(make_rootfs(base / "rootfs"), archive)
        imported = c.ctr("image", "import", str(archive))
        assert imported.returncode == 0, imported.stderr
        assert IMAGE in c.ctr("image", "ls", "-q").stdout
        yield c
    finally:
        left = c.ctr("containers", "ls", "-q").stdout.split()
        leaks += [f"containerd container: {x}" for x in left]
        for cid in left:
            c.ctr("task", "kill", "-s", "SIGKILL", cid)
            c.ctr("task", "delete", "--force", cid)
            c.ctr("containers", "delete", cid)
        c.ctr("image", "rm", IMAGE)
        c.stop()
        reap_children()
        # the shim keeps one runtime root per namespace under --runc-root
        leaks += [f"runtime state: {d}" for d in c.runc_root.glob("*/*") if d.name != "locks"]
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            top = hierarchy / c.cgroup_parent.lstrip("/")
            if top.is_dir():
                for directory in sorted((Path(d) for d, _, _ in os.walk(top)), key=lambda p: -len(p.parts)):
                    if directory != top:
                        leaks.append(f"cgroup: {directory}")
                    try:
                        directory.rmdir()
                    except OSError:
                        pass
        with open("/proc/mounts") as f:
            for line in reversed(f.readlines()):
                if str(base) in line.split()[1]:
                    subprocess.run(["umount", "-l", line.split()[1]], check=False)
        shutil.rmtree(base, ignore_errors=True)
    assert not leaks, "containerd's containers left host objects behind:\n" + "\n".join(leaks)


def test_ctr_run_rm_prints_and_passes_the_exit_code(containerd):
    cid = f"t{secrets.token_hex(3)}"
    result = containerd.run(cid, "--rm", IMAGE, cid, "sh", "-c", "echo hi; exit 3")
    assert result.returncode == 3, result.stderr
    assert result.stdout.strip() == "hi"
    assert containerd.ctr("containers", "ls", "-q").stdout.split() == []
    events = containerd.events(cid)
    assert events[:2] == ["create", "start"] and events[-1] == "destroy"
    assert containerd.deaths(cid) == [(3, "exited")]  # the shim reaped it; the watcher saw it


def test_ctr_detached_task_exec_kill_delete(containerd):
    cid = f"d{secrets.token_hex(3)}"
    started = containerd.run(cid, "-d", IMAGE, cid, "sleep", "60")
    assert started.returncode == 0, started.stderr
    try:
        tasks = containerd.ctr("task", "ls").stdout
        assert cid in tasks and "RUNNING" in tasks
        execd = containerd.ctr("task", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo inside; exit 5")
        assert execd.returncode == 5, execd.stderr
        assert execd.stdout.strip() == "inside"
        pids = containerd.ctr("task", "ps", cid)
        assert pids.returncode == 0, pids.stderr
        killed = containerd.ctr("task", "kill", "-s", "SIGKILL", cid)
        assert killed.returncode == 0, killed.stderr
        deadline = time.monotonic() + 30
        while "STOPPED" not in containerd.ctr("task", "ls").stdout:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        containerd.ctr("task", "delete", "--force", cid)
        containerd.ctr("containers", "delete", cid)
    assert containerd.deaths(cid) == [(137, "exited")]
    events = containerd.events(cid)
    assert events[:3] == ["create", "start", "exec_start"]
    assert "kill" in events and events[-1] == "destroy"
