"""The container's filesystem, built inside its own mount namespace.

The overlay and every mount below it exist only in the container's mount
namespace, so when its last process dies the kernel drops them: a crash can
never leave a container mount behind on the host.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core import etcfiles
from core import syscalls as sc
from core.spec import ContainerSpec

# name -> (major, minor): the devices docker gives every container
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9), "tty": (5, 0)}


def overlay_options(spec: ContainerSpec) -> str:
    # overlayfs lists lowerdirs top first; spec.layers is lowest first.
    lower = ":".join(reversed(spec.layers))
    return f"lowerdir={lower},upperdir={spec.directory / 'upper'},workdir={spec.directory / 'work'}"


def setup(spec: ContainerSpec) -> None:
    """Mount the rootfs and the kernel filesystems, then pivot_root into it."""
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    new_root = str(spec.directory / "merged")
    sc.mount("overlay", new_root, "overlay", 0, overlay_options(spec))
    root = Path(new_root)
    for d in ("proc", "sys", "dev"):
        (root / d).mkdir(exist_ok=True)
    sc.mount("proc", str(root / "proc"), "proc", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    sc.mount("sysfs", str(root / "sys"), "sysfs", sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    _setup_dev(root / "dev")
    _bind_etc_files(spec, root)
    _pivot(new_root)


def _bind_etc_files(spec: ContainerSpec, root: Path) -> None:
    """Bind the monitor's hosts, resolv.conf and hostname over the image's (docker's
    way: the image layers stay untouched and every start gets current ones)."""
    for name in etcfiles.FILES:
        source = spec.directory / name
        if not source.is_file():
            continue
        target = root / "etc" / name
        target.parent.mkdir(mode=0o755, exist_ok=True)
        if target.is_symlink() or not target.exists():
            # a symlink (resolv.conf -> ../run/...) would bind outside the rootfs
            target.unlink(missing_ok=True)
            target.touch(0o644)
        sc.mount(str(source), str(target), None, sc.MS_BIND)


def _setup_dev(dev: Path) -> None:
    sc.mount("tmpfs", str(dev), "tmpfs", sc.MS_NOSUID | sc.MS_STRICTATIME, "mode=755,size=65536k")
    for name, (major, minor) in DEVICES.items():
        os.mknod(dev / name, stat.S_IFCHR | 0o666, os.makedev(major, minor))
        os.chmod(dev / name, 0o666)  # mknod's mode passes through the umask
    (dev / "pts").mkdir()
    sc.mount("devpts", str(dev / "pts"), "devpts", sc.MS_NOSUID | sc.MS_NOEXEC,
             "newinstance,ptmxmode=0666,mode=0620")
    os.symlink("pts/ptmx", dev / "ptmx")
    (dev / "shm").mkdir()
    sc.mount("shm", str(dev / "shm"), "tmpfs", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC, "mode=1777,size=65536k")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, dev / name)


def _pivot(new_root: str) -> None:
    # pivot_root(".", ".") stacks the old root on top of the new one; detaching
    # it leaves no directory behind in the container's upper layer (runc's way).
    old_root = os.open("/", os.O_DIRECTORY | os.O_RDONLY)
    try:
        os.chdir(new_root)
        sc.pivot_root(".", ".")
        os.fchdir(old_root)
        sc.umount(".", sc.MNT_DETACH)
    finally:
        os.close(old_root)
    os.chdir("/")
