"""Shared by the OCI runtime tests: a busybox bundle, mydocker-runc called as a
caller would, and a check that nothing of it stays on the host."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNC = str(Path(sys.executable).parent / "mydocker-runc")
BUSYBOX = shutil.which("busybox") or "/bin/busybox"


def make_rootfs(path: Path) -> Path:
    """A busybox rootfs: the static binary and a link per applet."""
    (path / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, path / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", path / "bin" / applet)
    for d in ("proc", "sys", "dev", "tmp", "etc", "root"):
        (path / d).mkdir()
    (path / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    (path / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return path


def base_config(args: list[str], cgroup: str) -> dict[str, Any]:
    """What `runc spec` writes, trimmed: the usual mounts and namespaces."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                             for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "cgroupsPath": cgroup,
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        },
    }


@dataclass
class Result:
    code: int
    out: str
    err: str


class Oci:
    """mydocker-runc with its own --root, recording into a test's mydocker root.

    Called through a short-lived shell, which plays the caller (conmon, the
    shim) that runs the runtime and later goes away. The runtime's stdio goes
    to files, not pipes: a created container's init keeps them open."""

    def __init__(self, tmp: Path, events_root: Path) -> None:
        self.tmp = tmp
        self.root = tmp / "runc-state"
        self.events_root = events_root
        self.prefix = f"mdtest-oci-{secrets.token_hex(3)}"
        self.rootfs = make_rootfs(tmp / "rootfs")
        self.calls = 0

    def bundle(self, name: str, args: list[str], **linux: Any) -> tuple[Path, dict[str, Any]]:
        bundle = self.tmp / f"bundle-{name}"
        bundle.mkdir()
        os.symlink(self.rootfs, bundle / "rootfs")
        config = base_config(args, f"{self.prefix}-{name}")
        config["linux"].update(linux)
        self.write(bundle, config)
        return bundle, config

    @staticmethod
    def write(bundle: Path, config: dict[str, Any]) -> None:
        (bundle / "config.json").write_text(json.dumps(config))

    def __call__(self, *args: str, timeout: float = 60, global_args: tuple[str, ...] = ()) -> Result:
        self.calls += 1
        out, err = self.tmp / f"call{self.calls}.out", self.tmp / f"call{self.calls}.err"
        argv = [RUNC, "--root", str(self.root), "--events-root", str(self.events_root), *global_args, *args]
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen(["sh", "-c", '"$@"; exit $?', "sh", *argv], stdin=subprocess.DEVNULL,
                                    stdout=o, stderr=e)
            code = proc.wait(timeout=timeout)
        return Result(code, out.read_text(), err.read_text())

    def ok(self, *args: str, **kwargs: Any) -> str:
        result = self(*args, **kwargs)
        assert result.code == 0, f"mydocker-runc {' '.join(args)} -> {result.code}: {result.err}"
        return result.out

    def output_of(self, call: int) -> str:
        """What a container created by call number `call` wrote to its stdout."""
        return (self.tmp / f"call{call}.out").read_text()

    def state(self, cid: str) -> dict[str, Any]:
        return json.loads(self.ok("state", cid))

    def wait_stopped(self, cid: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.state(cid)["status"] != "stopped":
            assert time.monotonic() < deadline, f"{cid} did not stop"
            time.sleep(0.05)

    def leaks(self) -> list[str]:
        found = []
        if self.root.is_dir():
            found += [f"runtime state: {d.name}" for d in self.root.iterdir() if d.name != "locks"]
        for base in Path("/sys/fs/cgroup").iterdir():
            if base.is_dir() and not base.is_symlink():
                for dirpath, dirnames, _ in os.walk(base):
                    found += [f"cgroup: {dirpath}/{d}" for d in dirnames if d.startswith(self.prefix)]
                    if dirpath.count("/") > 8:
                        dirnames[:] = []
        return found

    def force_clean(self) -> None:
        if self.root.is_dir():
            for d in self.root.iterdir():
                if d.name != "locks":
                    self("delete", "--force", d.name)
        for leak in self.leaks():
            if leak.startswith("cgroup: "):
                path = Path(leak.removeprefix("cgroup: "))
                for pid in (path / "cgroup.procs").read_text().split() if path.exists() else []:
                    os.kill(int(pid), signal.SIGKILL)
                time.sleep(0.1)
                try:
                    path.rmdir()
                except OSError:
                    pass


def reap_children() -> None:
    """The tests' containers are reparented to this process if it is a subreaper,
    and to PID 1 otherwise; reap what is ours so no zombie is left."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
