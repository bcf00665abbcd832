"""What `create` (and `run`) is asked for, once the flags are parsed.

Its own module so that container_refs, which resolves some of it, need not
import lifecycle, which calls container_refs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mydocker.core import cgroups
from mydocker.statemachine import volumes


@dataclass
class CreateOptions:
    image: str
    command: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    name: str | None = None
    env: list[str] = field(default_factory=list)  # KEY=VALUE, already expanded
    workdir: str | None = None
    hostname: str | None = None
    tty: bool = False
    interactive: bool = False
    limits: cgroups.Limits = field(default_factory=cgroups.Limits)
    cgroup_parent: str | None = None
    network: str = "bridge"  # bridge (the default network), none, host, or a network's name
    ip: str | None = None  # a fixed address on that network
    ports: list[dict[str, Any]] = field(default_factory=list)  # cli.ports.parse_publish's bindings
    autoremove: bool = False
    volumes: list[volumes.VolumeRequest] = field(default_factory=list)
    security: dict[str, Any] = field(default_factory=dict)  # core.security.Profile as a dict
    user: str = ""
    readonly_rootfs: bool = False
    devices: list[dict[str, Any]] = field(default_factory=list)
    init: bool = False
    cgroupns: str = "host"  # host | private
    # labels, stop signal/timeout, exposed ports, /etc extras, aliases... (cli.run_flags)
    config_extra: dict[str, Any] = field(default_factory=dict)
    # ContainerSpec fields set by cli.run_flags' namespace flags (sysctls, shm size...)
    spec_extra: dict[str, Any] = field(default_factory=dict)
