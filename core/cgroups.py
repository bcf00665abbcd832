"""cgroups v1, v2 and hybrid hosts: plan, create, limit, join, kill, remove.

A container's cgroups are described by a plain dict {controller: directory}
("unified" for the v2 tree) computed once at create time and recorded in the
create event, so any later process (stop, rm, recovery) can find and remove
exactly them. Every removal is idempotent.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio")
PREFIX = "mydocker-"
_GONE = (errno.ENOENT, errno.ENODEV)  # a cgroup removed while we looked at it


@dataclass(frozen=True)
class Limits:
    memory: int | None = None  # bytes
    memory_swap: int | None = None  # bytes of memory+swap; -1 unlimited
    cpu_quota: int | None = None  # microseconds per period
    cpu_period: int | None = None
    cpu_shares: int | None = None
    cpuset_cpus: str | None = None
    pids_limit: int | None = None
    # v1 devices allow-list ("c 1:3 rwm"...); None leaves devices alone (--privileged)
    devices: tuple[str, ...] | list[str] | None = None
    # --device-cgroup-rule: allowed on top of the list above (not under --privileged)
    device_cgroup_rules: tuple[str, ...] | list[str] = ()
    blkio_weight: int | None = None  # 10..1000
    # --device-read-bps and friends: [kind, host path, "major:minor", rate], kind one of
    # read_bps, write_bps, read_iops, write_iops
    blkio_throttle: tuple[Any, ...] | list[Any] = ()
    # --blkio-weight-device: [host path, "major:minor", weight]
    blkio_weight_device: tuple[Any, ...] | list[Any] = ()
    # --memory-reservation (v1 soft limit, v2 memory.low), --memory-swappiness (v1 only),
    # --oom-kill-disable (v1 only: v2 has no switch), --cpuset-mems
    memory_reservation: int | None = None
    memory_swappiness: int | None = None
    oom_kill_disable: bool = False
    cpuset_mems: str | None = None


class CgroupError(Exception):
    pass


def detect_mode(root: Path = CGROUP_ROOT) -> str:
    """'v2' (unified only), 'hybrid' (v1 controllers + cgroup2 beside) or 'v1'."""
    if (root / "cgroup.controllers").exists():
        return "v2"
    if (root / "unified" / "cgroup.controllers").exists():
        return "hybrid"
    return "v1"


def own_paths(proc_cgroup: str = "/proc/self/cgroup") -> dict[str, str]:
    """{controller or 'unified': path} of the calling process."""
    out: dict[str, str] = {}
    with open(proc_cgroup) as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers == "":
                out["unified"] = path
            for c in controllers.split(","):
                if c and not c.startswith("name="):
                    out[c] = path
    return out


def _v1_mount(controller: str, root: Path) -> Path | None:
    for candidate in (root / controller, root / "cpu,cpuacct", root / "cpuacct,cpu"):
        if controller in candidate.name.split(",") and candidate.is_dir():
            return candidate
    return None


def plan(container_id: str, parent: str | None = None, root: Path = CGROUP_ROOT, tag: str = "") -> dict[str, str]:
    """The directories this container's cgroups will have.

    Nested under the caller's own cgroup for each hierarchy unless parent
    (--cgroup-parent, a path from each hierarchy's root) is given. The name
    carries the state root's tag so `system check` of one root never takes
    another root's cgroups for leaks.
    """
    name = cgroup_name(container_id, tag)
    own = own_paths()
    mode = detect_mode(root)
    paths: dict[str, str] = {}

    def under(base: Path, key: str) -> str:
        rel = (parent if parent is not None else own.get(key, "/")).strip("/")
        return str(base / rel / name) if rel else str(base / name)

    if mode == "v2":
        paths["unified"] = under(root, "unified")
        return paths
    seen: set[Path] = set()
    for controller in V1_CONTROLLERS:
        mount = _v1_mount(controller, root)
        if mount is None or mount in seen:
            continue
        seen.add(mount)
        paths[controller] = under(mount, controller)
    return paths


def cgroup_name(container_id: str, tag: str = "") -> str:
    return f"{PREFIX}{tag}-{container_id[:12]}" if tag else PREFIX + container_id[:12]


def find_ours(tag: str, root: Path = CGROUP_ROOT, max_depth: int = 6) -> list[str]:
    """Every cgroup directory named for this tag (any tag when ''), in every hierarchy."""
    prefix = f"{PREFIX}{tag}-" if tag else PREFIX
    found: list[str] = []
    for top in root.iterdir() if root.is_dir() else []:
        if not top.is_dir() or top.is_symlink():
            continue
        base_depth = len(top.parts)
        for dirpath, dirnames, _ in os.walk(top):
            if len(Path(dirpath).parts) - base_depth >= max_depth:
                dirnames[:] = []
            for d in list(dirnames):
                if d.startswith(prefix):
                    found.append(os.path.join(dirpath, d))
                    dirnames.remove(d)
    return found


def _write(directory: str, filename: str, value: str | int) -> None:
    try:
        with open(os.path.join(directory, filename), "w") as f:
            f.write(str(value))
    except OSError as exc:
        raise CgroupError(f"cannot set {filename}={value}: {exc.strerror}") from exc


def _read(directory: str, filename: str) -> str:
    with open(os.path.join(directory, filename)) as f:
        return f.read()


def create(paths: dict[str, str], limits: Limits) -> None:
    for key, directory in paths.items():
        if key == "cpuset":
            _make_cpuset(directory)
            if limits.cpuset_cpus:
                _write(directory, "cpuset.cpus", limits.cpuset_cpus)
            if limits.cpuset_mems:
                _write(directory, "cpuset.mems", limits.cpuset_mems)
        else:
            os.makedirs(directory, exist_ok=True)
    if "unified" in paths and "memory" not in paths:
        _apply_v2(paths["unified"], limits)
    else:
        _apply_v1(paths, limits)


def _make_cpuset(directory: str) -> None:
    """A new v1 cpuset starts empty and refuses tasks until cpus and mems are set,
    and so does every intermediate directory a --cgroup-parent makes."""
    parent = os.path.dirname(directory)
    if not os.path.isdir(parent):
        _make_cpuset(parent)
    os.makedirs(directory, exist_ok=True)
    for name in ("cpuset.mems", "cpuset.cpus"):
        if not _read(directory, name).strip():
            _write(directory, name, _read(parent, name).strip())


def _apply_v1(paths: dict[str, str], limits: Limits) -> None:
    if limits.memory is not None:
        _write(paths["memory"], "memory.limit_in_bytes", limits.memory)
        swap = limits.memory_swap if limits.memory_swap is not None else 2 * limits.memory
        memsw = os.path.join(paths["memory"], "memory.memsw.limit_in_bytes")
        if os.path.exists(memsw):
            _write(paths["memory"], "memory.memsw.limit_in_bytes", swap)
    _apply_v1_memory_extras(paths.get("memory"), limits)
    cpu = paths.get("cpu")
    if cpu:
        if limits.cpu_period is not None:
            _write(cpu, "cpu.cfs_period_us", limits.cpu_period)
        if limits.cpu_quota is not None:
            _write(cpu, "cpu.cfs_quota_us", limits.cpu_quota)
        if limits.cpu_shares is not None:
            _write(cpu, "cpu.shares", limits.cpu_shares)
    if limits.pids_limit is not None:
        _write(paths["pids"], "pids.max", "max" if limits.pids_limit <= 0 else limits.pids_limit)
    if limits.devices is not None and "devices" in paths:
        # Deny everything, then allow the list: a node the container makes
        # itself (mknod) or finds can be neither created nor opened otherwise.
        _write(paths["devices"], "devices.deny", "a")
        for rule in [*limits.devices, *limits.device_cgroup_rules]:
            _write(paths["devices"], "devices.allow", rule)
    blkio = paths.get("blkio")
    if blkio:
        if limits.blkio_weight is not None:
            _write(blkio, blkio_weight_file(blkio) or "blkio.weight", limits.blkio_weight)
        for kind, _path, device, rate in limits.blkio_throttle:
            _write(blkio, f"blkio.throttle.{kind}_device", f"{device} {rate}")
        for _path, device, weight in limits.blkio_weight_device:
            _write(blkio, weight_device_file(blkio) or "blkio.weight_device", f"{device} {weight}")


def _apply_v1_memory_extras(memory: str | None, limits: Limits) -> None:
    if memory is None:
        return
    if limits.memory_reservation is not None:
        _write(memory, "memory.soft_limit_in_bytes", limits.memory_reservation)
    if limits.memory_swappiness is not None:
        _write(memory, "memory.swappiness", limits.memory_swappiness)
    if limits.oom_kill_disable:
        _write(memory, "memory.oom_control", 1)


def _apply_v2(directory: str, limits: Limits) -> None:
    wanted = []
    if limits.memory is not None or limits.memory_reservation is not None:
        wanted.append("memory")
    if limits.cpu_quota is not None or limits.cpu_shares is not None:
        wanted.append("cpu")
    if limits.cpuset_cpus is not None or limits.cpuset_mems is not None:
        wanted.append("cpuset")
    if limits.pids_limit is not None:
        wanted.append("pids")
    if limits.blkio_weight is not None or limits.blkio_throttle or limits.blkio_weight_device:
        wanted.append("io")
    parent = os.path.dirname(directory)
    for controller in wanted:
        try:
            _write(parent, "cgroup.subtree_control", f"+{controller}")
        except CgroupError as exc:
            raise CgroupError(f"controller {controller} is not delegated to {parent}") from exc
    if limits.memory is not None:
        _write(directory, "memory.max", limits.memory)
        if limits.memory_swap is not None:
            swap = "max" if limits.memory_swap < 0 else max(limits.memory_swap - limits.memory, 0)
            _write(directory, "memory.swap.max", swap)
    if limits.cpu_quota is not None:
        _write(directory, "cpu.max", f"{limits.cpu_quota} {limits.cpu_period or 100000}")
    if limits.cpu_shares is not None:
        # docker's conversion of v1 shares (2..262144) to v2 weight (1..10000)
        _write(directory, "cpu.weight", 1 + ((limits.cpu_shares - 2) * 9999) // 262142)
    if limits.cpuset_cpus is not None:
        _write(directory, "cpuset.cpus", limits.cpuset_cpus)
    if limits.cpuset_mems is not None:
        _write(directory, "cpuset.mems", limits.cpuset_mems)
    if limits.memory_reservation is not None:
        _write(directory, "memory.low", limits.memory_reservation)
    if limits.pids_limit is not None:
        _write(directory, "pids.max", "max" if limits.pids_limit <= 0 else limits.pids_limit)
    if limits.blkio_weight is not None:
        name = "io.bfq.weight" if os.path.exists(os.path.join(directory, "io.bfq.weight")) else "io.weight"
        _write(directory, name, limits.blkio_weight if name == "io.bfq.weight" else f"default {limits.blkio_weight}")
    for kind, _path, device, rate in limits.blkio_throttle:
        _write(directory, "io.max", f"{device} {V2_IO_KEYS[kind]}={rate}")
    for _path, device, weight in limits.blkio_weight_device:  # both files take "MAJ:MIN WEIGHT" lines
        _write(directory, weight_device_file(directory) or "io.weight", f"{device} {weight}")
    if limits.devices is not None:  # v2 has no devices files: the allow-list is an eBPF program
        from mydocker.core import devicefilter

        try:
            devicefilter.attach(directory, [*limits.devices, *limits.device_cgroup_rules])
        except (OSError, ValueError) as exc:
            raise CgroupError(f"cannot load the device filter: {exc}") from exc


V2_IO_KEYS = {"read_bps": "rbps", "write_bps": "wbps", "read_iops": "riops", "write_iops": "wiops"}


def blkio_weight_file(directory: str) -> str | None:
    """Which file takes a weight in this v1 blkio (or v2) cgroup, None when the
    kernel has no proportional I/O scheduler to weigh with (docker then warns
    and discards the weight)."""
    for name in ("blkio.weight", "blkio.bfq.weight", "io.bfq.weight", "io.weight"):
        if os.path.exists(os.path.join(directory, name)):
            return name
    return None


def weight_device_file(directory: str) -> str | None:
    """Which file takes a per-device weight in this v1 blkio (or v2) cgroup; None
    without a proportional I/O scheduler (docker then warns and discards it)."""
    for name in ("blkio.weight_device", "blkio.bfq.weight_device", "io.bfq.weight", "io.weight"):
        if os.path.exists(os.path.join(directory, name)):
            return name
    return None


def update(paths: dict[str, str], limits: Limits) -> None:
    """Change the limits of existing cgroups (docker update); only the fields set."""
    if "cpuset" in paths and limits.cpuset_cpus is not None:
        _write(paths["cpuset"], "cpuset.cpus", limits.cpuset_cpus)
    if "unified" in paths and "memory" not in paths:
        _apply_v2(paths["unified"], limits)
        return
    if limits.memory is not None and "memory" in paths:
        # v1 refuses a memory limit above memory+swap: raise the pair in the right order
        memsw = os.path.join(paths["memory"], "memory.memsw.limit_in_bytes")
        swap = limits.memory_swap if limits.memory_swap is not None else 2 * limits.memory
        if os.path.exists(memsw) and swap > int(_read(paths["memory"], "memory.memsw.limit_in_bytes")):
            _write(paths["memory"], "memory.memsw.limit_in_bytes", swap)
            _write(paths["memory"], "memory.limit_in_bytes", limits.memory)
        else:
            _write(paths["memory"], "memory.limit_in_bytes", limits.memory)
            if os.path.exists(memsw):
                _write(paths["memory"], "memory.memsw.limit_in_bytes", swap)
    rest = {k: v for k, v in paths.items() if k not in ("memory", "cpuset")}
    _apply_v1(rest, replace(limits, memory=None, devices=None))


def add_process(paths: dict[str, str], pid: int) -> None:
    for directory in paths.values():
        _write(directory, "cgroup.procs", pid)


def pids(paths: dict[str, str]) -> set[int]:
    found: set[int] = set()
    for directory in paths.values():
        try:
            found.update(int(x) for x in _read(directory, "cgroup.procs").split())
        except OSError as exc:
            if exc.errno not in _GONE:
                raise
            continue  # removed meanwhile (by the monitor, or a racing command)
    return found


def kill_all(paths: dict[str, str], timeout: float = 5.0) -> None:
    """SIGKILL every process in the cgroups until none is left."""
    thaw(paths)  # a frozen task (v1 freezer) dies only once thawed
    deadline = time.monotonic() + timeout
    while True:
        alive = pids(paths)
        if not alive:
            return
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            raise CgroupError(f"processes {sorted(alive)} survive SIGKILL")
        time.sleep(0.005)


def oom_killed(paths: dict[str, str]) -> bool:
    """Did the kernel's OOM killer act inside this container's memory cgroup?"""
    try:
        if "memory" in paths:
            text = _read(paths["memory"], "memory.oom_control")
        elif "unified" in paths:
            text = _read(paths["unified"], "memory.events")
        else:
            return False
    except OSError:
        return False
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and int(value) > 0:
            return True
    return False


def remove(paths: dict[str, str], timeout: float = 5.0) -> None:
    """Kill what is left and remove the directories; already gone is success."""
    kill_all(paths, timeout)
    for directory in paths.values():
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.rmdir(directory)
                break
            except OSError as exc:
                if exc.errno in _GONE:
                    break
                # EBUSY: the kernel has not yet let go of a task that just died.
                if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                    raise CgroupError(f"cannot remove cgroup {directory}: {exc.strerror}") from exc
                time.sleep(0.005)


def freeze(paths: dict[str, str], timeout: float = 10.0) -> bool:
    """Freeze every process of the container (v1 freezer or v2 cgroup.freeze) and
    wait until the kernel says it is frozen; False when there is no freezer."""
    if "freezer" in paths:
        directory, control, value = paths["freezer"], "freezer.state", "FROZEN"
    elif "unified" in paths and os.path.exists(os.path.join(paths["unified"], "cgroup.freeze")):
        directory, control, value = paths["unified"], "cgroup.freeze", "1"
    else:
        return False
    _write(directory, control, value)
    deadline = time.monotonic() + timeout
    while not _is_frozen(paths):
        if time.monotonic() > deadline:
            thaw(paths)
            raise CgroupError("the container did not freeze in time")
        time.sleep(0.002)
    return True


def _is_frozen(paths: dict[str, str]) -> bool:
    if "freezer" in paths:
        return _read(paths["freezer"], "freezer.state").strip() == "FROZEN"
    return "frozen 1" in _read(paths["unified"], "cgroup.events").splitlines()


def thaw(paths: dict[str, str]) -> None:
    """Idempotent: a thawed or removed cgroup is fine."""
    try:
        if "freezer" in paths:
            _write(paths["freezer"], "freezer.state", "THAWED")
        elif "unified" in paths:
            _write(paths["unified"], "cgroup.freeze", "0")
    except CgroupError:
        pass
