"""Named volumes on disk: ROOT/volumes/<name>/_data, docker's layout."""

from __future__ import annotations

import os
from pathlib import Path


def volumes_dir(root: str | Path) -> Path:
    return Path(root) / "volumes"


def data_dir(root: str | Path, name: str) -> Path:
    return volumes_dir(root) / name / "_data"


def make(root: str | Path, name: str) -> Path:
    """Create the volume's directory (already there is fine: idempotent)."""
    volumes_dir(root).mkdir(mode=0o700, exist_ok=True)
    (volumes_dir(root) / name).mkdir(mode=0o700, exist_ok=True)
    data = data_dir(root, name)
    # 0755 like docker's: the container's non-root users must be able to enter it.
    data.mkdir(mode=0o755, exist_ok=True)
    return data


def remove(root: str | Path, name: str) -> None:
    """Delete the volume's data; already gone is success. Whatever is mounted in
    it goes first: rmtree would walk into a bound host directory and empty it."""
    import errno
    import shutil

    unmount(root, name)
    if mount_points(os.path.realpath(volumes_dir(root) / name)):
        raise OSError(errno.EBUSY, f"{volumes_dir(root) / name}: still mounted")
    shutil.rmtree(volumes_dir(root) / name, ignore_errors=True)



class MountError(Exception):
    """mount(2) of a volume's device refused; the text is moby's (mount_options.describe)."""


def mount(root: str | Path, name: str, kind: str, device: str, options: str) -> None:
    """docker's local driver: mount DEVICE of type KIND with `o` OPTIONS on the
    volume's _data (a bind when KIND is none and OPTIONS say bind)."""
    from mydocker.core import mount_options as mo
    from mydocker.core import syscalls as sc

    target = str(data_dir(root, name))
    flags, data = mo.parse(options)
    plain = flags & ~mo.PROPAGATION
    try:
        sc.mount(device, target, kind or None, plain, data or None)
    except OSError as exc:
        raise MountError(mo.describe(device, target, plain, data, exc)) from None
    try:
        if flags & mo.PROPAGATION:
            sc.mount(None, target, None, flags & (mo.PROPAGATION | mo.MS_REC))
        if plain & (mo.MS_BIND | mo.MS_RDONLY) == mo.MS_BIND | mo.MS_RDONLY:
            # a bind ignores MS_RDONLY on its first call: read-only takes a remount
            sc.mount(None, target, None, plain | mo.MS_REMOUNT, data or None)
    except OSError as exc:
        sc.umount(target, sc.MNT_DETACH)
        raise MountError(mo.describe("", target, plain, data, exc)) from None


def unmount(root: str | Path, name: str) -> None:
    """Lazily, as docker's: a shell of the host still in _data must not keep it.
    Not mounted is success."""
    from mydocker.core import syscalls as sc

    target = str(data_dir(root, name))
    for _ in range(16):  # mounted twice (a crash between two mounts): all of them
        if not is_mounted(root, name):
            return
        sc.umount(target, sc.MNT_DETACH)


def is_mounted(root: str | Path, name: str) -> bool:
    return os.path.realpath(data_dir(root, name)) in mount_points(os.path.realpath(data_dir(root, name)))


def mounted_names(root: str | Path) -> set[str]:
    """The volumes with something mounted on their _data."""
    top = os.path.realpath(volumes_dir(root))
    return {point[len(top) + 1:].split("/")[0] for point in mount_points(top)
            if point.endswith("/_data") and point.count("/") == top.count("/") + 2}


def mount_points(prefix: str) -> set[str]:
    """Mount points of this mount namespace at or under PREFIX, a real path
    (/proc/self/mountinfo, whose octal escapes are undone: a path may hold a space)."""
    found = set()
    below = prefix.rstrip("/") + "/"
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            point = line.split(b" ", 5)[4].decode("unicode_escape").encode("latin-1").decode()
            if point == prefix or point.startswith(below):
                found.add(point)
    return found
