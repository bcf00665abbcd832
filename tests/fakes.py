"""Test doubles for the layers that touch the kernel.

FakeSyscalls stands in for core/syscalls.py: install() replaces the functions on
the module object itself, so every `from core import syscalls as sc` caller
(core.rootfs, core.init...) records calls instead of making them. FakeOS does the
same for the few os functions rootfs uses on the real system (mknod, chdir,
fchdir, open of "/"). FakeEffects records what the state machine asks for.
Every fake appends to one shared CallLog so tests can assert the order across
them (mount, then chdir, then pivot_root...).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from typing import Any

import pytest
from mydocker.core import syscalls


@dataclass
class Call:
    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


class CallLog(list[Call]):
    def names(self) -> list[str]:
        return [c.name for c in self]

    def of(self, name: str) -> list[Call]:
        return [c for c in self if c.name == name]


# --- core/syscalls.py ---------------------------------------------------------

SYSCALL_NAMES = (
    "mount",
    "umount",
    "unshare",
    "setns",
    "pivot_root",
    "sethostname",
    "setdomainname",
    "interface_up",
    "set_controlling_tty",
)


class FakeSyscalls:
    """Records every call core.syscalls would make; fails nothing unless told to."""

    def __init__(self, log: CallLog | None = None) -> None:
        self.log = log if log is not None else CallLog()
        self.fail: dict[str, OSError] = {}  # name -> error to raise instead

    def _record(self, name: str, *args: Any) -> None:
        self.log.append(Call(name, args))
        if name in self.fail:
            raise self.fail[name]

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int = 0,
              data: str | None = None) -> None:
        self._record("mount", source, target, fstype, flags, data)

    def umount(self, target: str, flags: int = 0) -> None:
        self._record("umount", target, flags)

    def unshare(self, flags: int) -> None:
        self._record("unshare", flags)

    def setns(self, fd: int, nstype: int = 0) -> None:
        self._record("setns", fd, nstype)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self._record("pivot_root", new_root, put_old)

    def sethostname(self, name: str) -> None:
        self._record("sethostname", name)

    def setdomainname(self, name: str) -> None:
        self._record("setdomainname", name)

    def interface_up(self, name: str) -> None:
        self._record("interface_up", name)

    def set_controlling_tty(self, fd: int) -> None:
        self._record("set_controlling_tty", fd)

    @property
    def mounts(self) -> list[Call]:
        return self.log.of("mount")

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeSyscalls:
        """Replace the functions on the core.syscalls module object (constants stay)."""
        for name in SYSCALL_NAMES:
            assert hasattr(syscalls, name), f"core.syscalls has no {name}: update the fake"
            monkeypatch.setattr(syscalls, name, getattr(self, name))
        return self


# --- the os calls rootfs makes on the real system -------------------------------


class FakeOS:
    """mknod makes a plain file (no root needed) and records the device asked for;
    chdir/fchdir only record; open of "/" hands out a fake descriptor that close
    accepts. Everything else passes through to the real os module."""

    FAKE_FD = 1_000_001

    def __init__(self, log: CallLog) -> None:
        self.log = log
        self._real_open = os.open
        self._real_close = os.close
        self._real_mknod = getattr(os, "mknod", None)

    def mknod(self, path: Any, mode: int = 0o600, device: int = 0) -> None:
        self.log.append(Call("mknod", (str(path), mode, device)))
        self._real_close(self._real_open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, stat.S_IMODE(mode)))

    def chdir(self, path: Any) -> None:
        self.log.append(Call("chdir", (str(path) if not isinstance(path, int) else path,)))

    def fchdir(self, fd: int) -> None:
        self.log.append(Call("fchdir", (fd,)))

    def open(self, path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if str(path) == "/":
            self.log.append(Call("open", ("/", flags)))
            return self.FAKE_FD
        return self._real_open(path, flags, mode, dir_fd=dir_fd)

    def close(self, fd: int) -> None:
        if fd == self.FAKE_FD:
            self.log.append(Call("close", (fd,)))
            return
        self._real_close(fd)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeOS:
        for name in ("mknod", "chdir", "fchdir", "open", "close"):
            monkeypatch.setattr(os, name, getattr(self, name))
        return self


# --- statemachine.machine.Effects -------------------------------------------------


WATCHER = (5151, 654321)  # (pid, start time) of the stand-in monitor adopt spawns


class FakeEffects:
    """Records the side effects the machine asks for; returns what the test set."""

    def __init__(self, stop_died: dict[str, Any] | None = None,
                 kill_died: dict[str, Any] | None = None) -> None:
        self.calls = CallLog()
        self.stop_died = stop_died
        self.kill_died = kill_died
        self.launched = object()  # what launch returns, so tests can check handle()'s result

    def launch(self, view: Any, attached: bool) -> Any:
        self.calls.append(Call("launch", (view.id, attached)))
        return self.launched

    def stop(self, view: Any, timeout: float) -> dict[str, Any] | None:
        self.calls.append(Call("stop", (view.id, timeout)))
        return self.stop_died

    def signal(self, view: Any, sig: int) -> None:
        self.calls.append(Call("signal", (view.id, sig)))

    def kill(self, view: Any) -> dict[str, Any] | None:
        self.calls.append(Call("kill", (view.id,)))
        return self.kill_died

    def release(self, view: Any) -> None:
        self.calls.append(Call("release", (view.id,)))

    def teardown(self, view: Any) -> None:
        self.calls.append(Call("teardown", (view.id,)))

    def freeze(self, view: Any) -> None:
        self.calls.append(Call("freeze", (view.id,)))

    def thaw(self, view: Any) -> None:
        self.calls.append(Call("thaw", (view.id,)))

    def update(self, view: Any, limits: dict[str, Any]) -> None:
        self.calls.append(Call("update", (view.id, limits)))

    def adopt(self, view: Any) -> tuple[int, int]:
        self.calls.append(Call("adopt", (view.id,)))
        return WATCHER

    def connect_network(self, view: Any, network: dict[str, Any]) -> None:
        self.calls.append(Call("connect_network", (view.id, network)))

    def disconnect_network(self, view: Any, network_id: str | None = None) -> None:
        self.calls.append(Call("disconnect_network", (view.id,)))

    def schedule_restart(self, view: Any, delay: float) -> tuple[int, int]:
        self.calls.append(Call("schedule_restart", (view.id, delay)))
        return SLEEPER

    def cancel_restart(self, view: Any) -> None:
        self.calls.append(Call("cancel_restart", (view.id,)))


# --- rows and events shaped like the real ones --------------------------------------

CONTAINER_ID = "c0ffee" + "0" * 58
SLEEPER = (6161, 515100)  # a restart policy's sleeper: (pid, start time)


def container_config(container_id: str = CONTAINER_ID, root: str = "/var/lib/mydocker") -> dict[str, Any]:
    directory = f"{root}/containers/{container_id}"
    return {
        "spec": {
            "id": container_id,
            "root": root,
            "argv": ["sh", "-c", "sleep 1000"],
            "env": ["PATH=/bin"],
            "hostname": container_id[:12],
            "workdir": "/",
            "layers": [f"{root}/layers/base", f"{root}/layers/top"],
            "cgroups": {"unified": f"/sys/fs/cgroup/mydocker/{container_id}"},
            "limits": {},
            "tty": False,
            "interactive": False,
            "network": "none",
        },
        "image_ref": "busybox",
        "entrypoint": [],
        "cmd": ["sh", "-c", "sleep 1000"],
        "autoremove": False,
        "cgroup_parent": None,
        "directory": directory,
    }


def container_row(state: str, container_id: str = CONTAINER_ID, name: str = "happy_turing",
                  **overrides: Any) -> dict[str, Any]:
    """A row of the containers table (the columns store.projections.apply_container writes)."""
    running = state in ("running", "paused")
    stopped = state in ("stopped", "restarting")  # restarting: exited, its sleeper is the monitor
    restarting = state == "restarting"
    row = {
        "id": container_id,
        "name": name,
        "version": {"created": 1, "running": 2, "paused": 3, "stopped": 3, "restarting": 3, "removed": 4}[state],
        "state": state,
        "image": "busybox",
        "image_id": "sha256:" + "ab" * 32,
        "command": json.dumps(["sh", "-c", "sleep 1000"]),
        "config": json.dumps(container_config(container_id), sort_keys=True),
        "created_at": "2026-01-01T00:00:00.000000Z",
        "started_at": "2026-01-01T00:00:01.000000Z" if running or stopped else None,
        "finished_at": "2026-01-01T00:00:02.000000Z" if stopped else None,
        "pid": 4242 if running else None,
        "pid_start": 123456 if running else None,
        "boot_id": "boot-1" if running else None,
        "monitor_pid": 4241 if running else SLEEPER[0] if restarting else None,
        "monitor_start": 123450 if running else SLEEPER[1] if restarting else None,
        "exit_code": (3 if restarting else 0) if stopped else None,
        "oom_killed": 0,
        "die_reason": None,
        "restart_count": 1 if restarting else 0,
        "restart_delay": 0.1 if restarting else 0.0,
        "stopped_by_user": 0,
        "health": None,
    }
    row.update(overrides)
    return row


def create_payload(name: str, container_id: str = CONTAINER_ID, root: str = "/var/lib/mydocker") -> dict[str, Any]:
    return {
        "name": name,
        "image": "busybox",
        "image_id": "sha256:" + "ab" * 32,
        "command": ["sh", "-c", "sleep 1000"],
        "config": container_config(container_id, root),
    }


def start_payload(pid: int = 4242) -> dict[str, Any]:
    return {"pid": pid, "pid_start": 1000 + pid, "boot_id": "boot-1", "monitor_pid": pid - 1,
            "monitor_start": 999 + pid}


def die_payload(exit_code: int = 0, oom_killed: bool = False, reason: str | None = None) -> dict[str, Any]:
    return {"exit_code": exit_code, "oom_killed": oom_killed, "reason": reason}
