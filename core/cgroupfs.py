"""The container's own view of /sys/fs/cgroup, as docker gives it.

Its cgroup directories are bound there, read-only (read-write under
--privileged), so `cat /sys/fs/cgroup/memory/memory.limit_in_bytes` reads the
-m value: on v1 and hybrid hosts a tmpfs with one directory per hierarchy
(docker mounts no unified tree there), on v2 the container's unified cgroup
itself. With a private cgroup namespace /proc/self/cgroup shows "/" as well.
Runs in the init, in the container's mount namespace, before pivot_root.
"""

from __future__ import annotations

import os
from pathlib import Path

from mydocker.core import syscalls as sc
from mydocker.core.cgroups import CGROUP_ROOT

_FLAGS = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC


def mount_view(new_root: Path, paths: dict[str, str], writable: bool = False) -> None:
    target = new_root / "sys" / "fs" / "cgroup"
    if not paths or not target.is_dir():
        return
    if "unified" in paths and len(paths) == 1:
        _bind(paths["unified"], target, writable)
        return
    sc.mount("tmpfs", str(target), "tmpfs", _FLAGS, "mode=755")
    for directory in paths.values():
        # the hierarchy's mount name on the host: "memory", or "cpu,cpuacct" for
        # co-mounted controllers, which then get their single names as links too
        mount_name = Path(directory).relative_to(CGROUP_ROOT).parts[0]
        (target / mount_name).mkdir(exist_ok=True)
        _bind(directory, target / mount_name, writable)
        for single in mount_name.split(","):
            if single != mount_name and not (target / single).exists():
                os.symlink(mount_name, target / single)


def _bind(source: str, target: Path, writable: bool) -> None:
    sc.mount(source, str(target), None, sc.MS_BIND)
    if not writable:
        sc.mount(None, str(target), None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY | _FLAGS)
