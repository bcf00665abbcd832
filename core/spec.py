"""What the kernel side needs to know to run one container.

Built by the statemachine from the create event's payload; plain data, so the
monitor (a forked child) and recovery can use it without the database.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mydocker.core.cgroups import Limits


@dataclass
class ContainerSpec:
    id: str
    root: str  # the state root
    argv: list[str]
    env: list[str]
    hostname: str
    workdir: str = "/"
    layers: list[str] = field(default_factory=list)  # absolute layer dirs, lowest first
    cgroups: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    tty: bool = False
    interactive: bool = False
    network: str = "none"
    # bind mounts made before pivot_root: {type: bind|volume, source: host path,
    # destination: container path, readonly: bool, name: volume name or ""}
    mounts: list[dict[str, Any]] = field(default_factory=list)
    # what the command may do: core.security.Profile as a dict (capabilities,
    # privileged, seccomp, no_new_privileges, ulimits)
    security: dict[str, Any] = field(default_factory=dict)
    user: str = ""  # uid[:gid] or name[:group], looked up in the container's /etc
    readonly_rootfs: bool = False
    # extra device nodes: {path (in the container), type "c"|"b", major, minor, mode, perms}
    devices: list[dict[str, Any]] = field(default_factory=list)
    init: bool = False  # a minimal reaper as PID 1 (--init)
    cgroupns: str = "host"  # private: a cgroup namespace of its own (--cgroupns)
    # core.logs.LogWriter's options: driver (json-file | none), max_size (bytes), max_file
    log: dict[str, Any] = field(default_factory=dict)
    # --sysctl (namespaced keys only), --shm-size (bytes, 0: docker's 64 MiB), --domainname
    sysctls: dict[str, str] = field(default_factory=dict)
    shm_size: int = 0
    domainname: str = ""
    # --group-add (names looked up in the container's /etc/group, or gids), --ipc
    # private|shareable|none (no /dev/shm)|host, --uts host, --pid host: "host" shares the host's namespace
    group_add: list[str] = field(default_factory=list)
    ipc: str = "private"
    uts: str = ""
    pid_mode: str = ""
    oom_score_adj: int = 0  # --oom-score-adj, written by the init for itself and its command
    # --ipc/--pid container:ID at start: fds of the donor's namespaces ({"ipc", "shm" (its mnt), "pid"}),
    # opened by the starting command and inherited by the monitor; never recorded
    joins: dict[str, int] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        return container_dir(self.root, self.id)

    @property
    def log_path(self) -> Path:
        return self.directory / "container.log"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["joins"]  # fds of one start, meaningless in the log
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ContainerSpec":
        data = dict(data)
        data["limits"] = Limits(**data.get("limits", {}))
        return cls(**data)


def container_dir(root: str | Path, container_id: str) -> Path:
    return Path(root) / "containers" / container_id


def prepare_dirs(spec: ContainerSpec) -> None:
    """upper/ work/ merged/ for the overlay; kept across stop/start like docker's."""
    for sub in ("upper", "work", "merged"):
        os.makedirs(spec.directory / sub, mode=0o700, exist_ok=True)
    # The overlay's root directory takes the upper dir's mode: 0755 like an
    # image's /, or no non-root user in the container could resolve any path.
    # (spec.directory itself stays 0700 and keeps the host's users out.)
    os.chmod(spec.directory / "upper", 0o755)
