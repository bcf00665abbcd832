"""`diff`: what a container changed, read from its overlay upper dir.

A: in upper, in no lower layer. C: in upper and in a lower layer (copied up or
replaced). D: an overlay whiteout (a 0:0 character device). A directory that
exists below is reported as C only when something under it changed, as docker
does; the files the runtime itself mounts over (hostname, hosts, resolv.conf)
are not the container's changes, as they live in docker's init layer.
"""

from __future__ import annotations

import os
import stat

RUNTIME_FILES = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}


def changes(upper: str, layers: list[str]) -> list[tuple[str, str]]:
    """[(kind, path)] sorted by path; [] when upper does not exist yet."""
    found: list[tuple[str, str]] = []
    if not os.path.isdir(upper):
        return found
    _walk(upper, "", layers, found)
    return sorted(found, key=lambda c: c[1])


def _in_lower(path: str, layers: list[str]) -> bool:
    return any(os.path.lexists(layer + path) for layer in layers)


def _walk(upper: str, prefix: str, layers: list[str], found: list[tuple[str, str]]) -> bool:
    """Adds the changes under prefix; True when any was found."""
    any_found = False
    with os.scandir(upper + prefix or "/") as entries:
        for entry in entries:
            path = f"{prefix}/{entry.name}"
            if path in RUNTIME_FILES:
                continue
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                found.append(("D", path))
                any_found = True
                continue
            below = _in_lower(path, layers)
            if stat.S_ISDIR(st.st_mode):
                inner = _walk(upper, path, layers, found)
                if not below:
                    found.append(("A", path))
                elif inner or _opaque(upper + path):
                    found.append(("C", path))
                any_found = any_found or inner or not below
                continue
            found.append(("C" if below else "A", path))
            any_found = True
    return any_found


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False
