"""The OCI runtime spec's config.json, read and checked before anything is made.

Pure functions from the bundle's JSON to what the kernel side needs (mount
flags, namespace plan, cgroup limits, capabilities, rlimits), so every field is
unit-tested without root. What this runtime cannot honour is refused here, with
one clear line, before a single namespace or cgroup exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mydocker.core import syscalls as sc
from mydocker.core.cgroups import Limits
from mydocker.core.security import CAPABILITIES, ULIMITS

OCI_VERSION = "1.0.2"
# In a container's state directory: its init blocks opening this fifo for
# writing until `start` opens it for reading (runc's exec.fifo).
EXEC_FIFO = "exec.fifo"


class SpecError(Exception):
    """config.json asks for something invalid or unsupported."""


# linux.namespaces[].type -> (clone flag, /proc/PID/ns name)
NAMESPACES = {
    "pid": (sc.CLONE_NEWPID, "pid"),
    "network": (sc.CLONE_NEWNET, "net"),
    "mount": (sc.CLONE_NEWNS, "mnt"),
    "ipc": (sc.CLONE_NEWIPC, "ipc"),
    "uts": (sc.CLONE_NEWUTS, "uts"),
    "cgroup": (sc.CLONE_NEWCGROUP, "cgroup"),
}
# setns order: mnt last, since after it the host's paths are gone (runc's order)
JOIN_ORDER = ("cgroup", "ipc", "uts", "network", "pid", "mount")

# mount(8) options -> (flags to set, flags to clear)
_FLAGS: dict[str, tuple[int, int]] = {
    "ro": (sc.MS_RDONLY, 0), "rw": (0, sc.MS_RDONLY),
    "nosuid": (sc.MS_NOSUID, 0), "suid": (0, sc.MS_NOSUID),
    "nodev": (sc.MS_NODEV, 0), "dev": (0, sc.MS_NODEV),
    "noexec": (sc.MS_NOEXEC, 0), "exec": (0, sc.MS_NOEXEC),
    "bind": (sc.MS_BIND, 0), "rbind": (sc.MS_BIND | sc.MS_REC, 0),
    "strictatime": (sc.MS_STRICTATIME, 0), "relatime": (1 << 21, 0), "noatime": (1 << 10, 0),
    "nodiratime": (1 << 11, 0), "sync": (16, 0), "dirsync": (128, 0), "mand": (64, 0),
    "defaults": (0, 0), "async": (0, 16), "atime": (0, 1 << 10), "diratime": (0, 1 << 11),
}
MS_SHARED = 1 << 20
MS_UNBINDABLE = 1 << 17
PROPAGATION = {
    "private": sc.MS_PRIVATE, "rprivate": sc.MS_PRIVATE | sc.MS_REC,
    "shared": MS_SHARED, "rshared": MS_SHARED | sc.MS_REC,
    "slave": sc.MS_SLAVE, "rslave": sc.MS_SLAVE | sc.MS_REC,
    "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | sc.MS_REC,
}
# Options that are not mount flags nor data for the filesystem: runc's extensions.
_IGNORED_OPTIONS = {"tmpcopyup", "idmap", "ridmap", "copy-symlink", "z", "Z", "U", "notmpcopyup"}


@dataclass
class MountPlan:
    destination: str
    type: str
    source: str
    flags: int
    propagation: int
    data: str
    bind: bool = False


def mount_plan(mount: dict[str, Any]) -> MountPlan:
    """One entry of config.json's mounts as mount(2) wants it."""
    destination = mount.get("destination")
    if not isinstance(destination, str) or not destination.startswith("/"):
        raise SpecError(f"mount destination must be an absolute path: {destination!r}")
    flags, propagation, data = 0, 0, []
    for option in mount.get("options") or []:
        if option in _FLAGS:
            on, off = _FLAGS[option]
            flags = (flags | on) & ~off
        elif option in PROPAGATION:
            propagation |= PROPAGATION[option]
        elif option in _IGNORED_OPTIONS:
            continue
        else:
            data.append(option)
    kind = mount.get("type") or ("bind" if flags & sc.MS_BIND else "")
    bind = kind == "bind" or bool(flags & sc.MS_BIND)
    if bind:
        flags |= sc.MS_BIND
    if not kind and not bind:
        raise SpecError(f"mount {destination}: no type")
    return MountPlan(destination, kind, mount.get("source") or kind, flags, propagation, ",".join(data), bind)


@dataclass
class NamespacePlan:
    new_flags: int = 0  # unshare() these
    join: list[tuple[str, str]] = field(default_factory=list)  # (type, path) in JOIN_ORDER
    new_pid: bool = False
    join_pid: str | None = None

    def has(self, kind: str) -> bool:
        return bool(self.new_flags & NAMESPACES[kind][0]) or any(k == kind for k, _ in self.join)


def namespace_plan(config: dict[str, Any]) -> NamespacePlan:
    linux = config.get("linux") or {}
    plan = NamespacePlan()
    seen: set[str] = set()
    entries = linux.get("namespaces") or []
    for ns in entries:
        kind = ns.get("type")
        if kind in ("user", "time"):
            raise SpecError(f"{kind} namespaces are not supported by mydocker-runc")
        if kind not in NAMESPACES:
            raise SpecError(f"unknown namespace type {kind!r}")
        if kind in seen:
            raise SpecError(f"namespace {kind} is listed twice")
        seen.add(kind)
        path = ns.get("path")
        if path:
            if not os.path.exists(path):
                raise SpecError(f"namespace {kind} path {path}: no such file or directory")
            if kind == "pid":
                plan.join_pid = path
        elif kind == "pid":
            plan.new_pid = True
        else:
            plan.new_flags |= NAMESPACES[kind][0]
    plan.join = [(k, ns["path"]) for k in JOIN_ORDER for ns in entries
                 if ns.get("type") == k and ns.get("path") and k != "pid"]
    return plan


CAPABILITY_SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")


def capability_sets(process: dict[str, Any]) -> dict[str, list[str]]:
    """The five sets of process.capabilities, each applied as the spec names it
    (a set left out is empty, as runc reads it)."""
    caps = process.get("capabilities") or {}
    return {kind: _capability_list(caps.get(kind) or []) for kind in CAPABILITY_SETS}


def _capability_list(names: list[str]) -> list[str]:
    out = set()
    for name in names:
        raw = name.upper().removeprefix("CAP_")
        if raw in CAPABILITIES:  # runc warns and skips capabilities its kernel does not know
            out.add(raw)
    return sorted(out)


def rlimits(process: dict[str, Any]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for item in process.get("rlimits") or []:
        kind = str(item.get("type", ""))
        name = kind.upper().removeprefix("RLIMIT_").lower()
        if name not in ULIMITS:
            raise SpecError(f"unknown rlimit type {kind!r}")
        soft, hard = int(item.get("soft", 0)), int(item.get("hard", 0))
        if soft > hard:
            raise SpecError(f"rlimit {kind}: soft {soft} is above hard {hard}")
        unlimited = (1 << 64) - 1
        out[name] = [-1 if soft == unlimited else soft, -1 if hard == unlimited else hard]
    return out


def limits(config: dict[str, Any]) -> Limits:
    """linux.resources as the cgroups code writes them (memory, cpu, pids, devices)."""
    res = (config.get("linux") or {}).get("resources") or {}
    memory = res.get("memory") or {}
    cpu = res.get("cpu") or {}
    pids = res.get("pids") or {}
    limit = memory.get("limit")
    swap = memory.get("swap")
    quota = cpu.get("quota")
    devices = device_rules(res.get("devices"))
    if devices is not None:
        # linux.devices are made by the runtime, so they are allowed too (runc's specconv)
        devices += [f"{d.get('type', 'c')} {d.get('major', 0)}:{d.get('minor', 0)} rwm"
                    for d in (config.get("linux") or {}).get("devices") or []]
    return Limits(
        memory=int(limit) if limit is not None and int(limit) > 0 else None,
        memory_swap=int(swap) if swap is not None and limit is not None and int(limit) > 0 else None,
        cpu_quota=int(quota) if quota is not None and int(quota) > 0 else None,
        cpu_period=int(cpu["period"]) if cpu.get("period") else None,
        cpu_shares=int(cpu["shares"]) if cpu.get("shares") else None,
        cpuset_cpus=cpu.get("cpus") or None,
        pids_limit=int(pids["limit"]) if pids.get("limit") else None,
        devices=devices,
    )


DEFAULT_DEVICES = ((1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0))


def device_rules(entries: list[dict[str, Any]] | None) -> list[str] | None:
    """The v1 devices allow-list from linux.resources.devices: the spec's list is
    applied in order with the last match winning, which a deny-all followed by
    the allows approximates when the list starts by denying everything, as every
    caller's does. None (leave the cgroup alone) when the list allows all."""
    if not entries:
        return None
    first = entries[0]
    if first.get("allow") or first.get("type", "a") != "a":
        return None
    # runc's AllowedDevices: the nodes it makes in /dev, ptys, and mknod of any
    # node (opening one still needs its own rule)
    rules = [f"c {major}:{minor} rwm" for major, minor in DEFAULT_DEVICES]
    rules += ["c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c *:* m", "b *:* m"]
    for entry in entries[1:]:
        if not entry.get("allow"):
            continue
        major = "*" if entry.get("major") in (None, -1) else entry["major"]
        minor = "*" if entry.get("minor") in (None, -1) else entry["minor"]
        rules.append(f"{entry.get('type', 'a')} {major}:{minor} {entry.get('access') or 'rwm'}")
    return rules


def cgroup_paths(cgroups_path: str | None, container_id: str, own: dict[str, str],
                 mounts: dict[str, Path]) -> dict[str, str]:
    """{controller: directory} for linux.cgroupsPath.

    An absolute path is taken from each hierarchy's root, as the spec says; a
    relative one (and the default) from the runtime's own cgroup, so a runtime
    started in a delegated cgroup stays inside it."""
    if cgroups_path and ":" in cgroups_path and not cgroups_path.startswith("/"):
        raise SpecError(f"cgroupsPath {cgroups_path!r} looks like a systemd slice:name:scope path; "
                        "mydocker-runc manages cgroupfs paths only")
    # Not `mydocker-...`: that prefix names the CLI's cgroups, tagged by state root.
    rel = cgroups_path or f"mdrunc-{container_id}"
    paths = {}
    for key, mount in mounts.items():
        if rel.startswith("/"):
            paths[key] = str(mount / rel.strip("/"))
        else:
            base = own.get(key, "/").strip("/")
            paths[key] = str(mount / base / rel) if base else str(mount / rel)
    return paths


def load(bundle: str) -> dict[str, Any]:
    path = Path(bundle) / "config.json"
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"JSON specification file {path} not found") from None
    except (OSError, ValueError) as exc:
        raise SpecError(f"cannot read {path}: {exc}") from None
    if not isinstance(config, dict):
        raise SpecError(f"{path}: not a JSON object")
    return config


def validate(config: dict[str, Any], bundle: str) -> list[str]:
    """Raise SpecError on what cannot run; return warnings for what is ignored."""
    warnings = []
    version = str(config.get("ociVersion", ""))
    if not version.startswith("1."):
        raise SpecError(f"unsupported ociVersion {version!r}")
    process = config.get("process")
    if not isinstance(process, dict) or not process.get("args"):
        raise SpecError("process.args must not be empty")
    if not str(process.get("cwd", "/")).startswith("/"):
        raise SpecError(f"process.cwd must be an absolute path: {process.get('cwd')!r}")
    root = config.get("root") or {}
    if not root.get("path"):
        raise SpecError("root.path is required")
    if not os.path.isdir(rootfs_path(config, bundle)):
        raise SpecError(f"rootfs {rootfs_path(config, bundle)} is not a directory")
    linux = config.get("linux") or {}
    if linux.get("uidMappings") or linux.get("gidMappings"):
        raise SpecError("uid/gid mappings (user namespaces) are not supported by mydocker-runc")
    if process.get("apparmorProfile"):
        warnings.append(f"apparmor is not supported: profile {process['apparmorProfile']!r} ignored")
    if process.get("selinuxLabel") or linux.get("mountLabel"):
        warnings.append("selinux labels are not supported: ignored")
    if linux.get("rootfsPropagation") and linux["rootfsPropagation"] not in PROPAGATION:
        raise SpecError(f"invalid rootfsPropagation {linux['rootfsPropagation']!r}")
    namespace_plan(config)
    rlimits(process)
    for mount in config.get("mounts") or []:
        mount_plan(mount)
    for key in (config.get("linux") or {}).get("sysctl") or {}:
        if "/" in key or ".." in key:
            raise SpecError(f"invalid sysctl {key!r}")
    for hook_list in (config.get("hooks") or {}).values():
        for hook in hook_list or []:
            if not str(hook.get("path", "")).startswith("/"):
                raise SpecError(f"hook path must be absolute: {hook.get('path')!r}")
    return warnings


def rootfs_path(config: dict[str, Any], bundle: str) -> str:
    path = config["root"]["path"]
    return path if os.path.isabs(path) else os.path.join(bundle, path)


def state(container_id: str, status: str, pid: int, bundle: str, annotations: dict[str, str]) -> dict[str, Any]:
    """The state of the runtime spec, as `state` prints it and hooks read it."""
    return {"ociVersion": OCI_VERSION, "id": container_id, "status": status, "pid": pid,
            "bundle": bundle, "annotations": annotations or {}}
