"""Platforms as docker names them (os/architecture[/variant]); apart from
distribution.py so a warm pull decides without loading the HTTP stack."""

from __future__ import annotations

import os
from typing import NamedTuple

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
         "armv6l": "arm", "i686": "386", "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x",
         "riscv64": "riscv64"}


class DistributionError(Exception):
    pass


class Platform(NamedTuple):  # not a frozen dataclass: a warm pull would pay ~10 ms for it
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def host_platform() -> Platform:
    machine = os.uname().machine  # what platform.machine() answers, without importing platform
    arch = _ARCH.get(machine, machine)
    variant = {"armv7l": "v7", "armv6l": "v6", "aarch64": "v8"}.get(machine, "")
    return Platform("linux", arch, variant)


def parse_platform(text: str) -> Platform:
    """`linux/arm64[/v8]` (or just `arm64`, as docker accepts)."""
    parts = [p.strip().lower() for p in text.split("/")]
    if not all(parts) or len(parts) > 3:
        raise DistributionError(f'"{text}": unknown operating system or architecture: invalid argument')
    if len(parts) == 1:
        parts = ["linux", *parts]
    os_name, arch = parts[0], _ARCH.get(parts[1], parts[1])
    variant = parts[2] if len(parts) == 3 else ("v8" if arch == "arm64" else "")
    return Platform(os_name, arch, variant)
