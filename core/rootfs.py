"""The container's filesystem, built inside its own mount namespace.

The overlay and every mount below it exist only in the container's mount
namespace, so when its last process dies the kernel drops them: a crash can
never leave a container mount behind on the host.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from mydocker.core import cgroupfs, etcfiles, securejoin
from mydocker.core import syscalls as sc
from mydocker.core.spec import ContainerSpec

# name -> (major, minor): the devices docker gives every container
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9), "tty": (5, 0)}


def overlay_options(spec: ContainerSpec) -> str:
    # overlayfs lists lowerdirs top first; spec.layers is lowest first.
    lower = ":".join(reversed(spec.layers))
    return f"lowerdir={lower},upperdir={spec.directory / 'upper'},workdir={spec.directory / 'work'}"


def setup(spec: ContainerSpec) -> None:
    """Mount the rootfs and the kernel filesystems, then pivot_root into it."""
    mount_base(spec)
    finish(spec)


def mount_base(spec: ContainerSpec) -> None:
    """The part that needs nothing from the monitor: the init does it while the
    monitor joins it to its cgroups and makes its network."""
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    new_root = str(spec.directory / "merged")
    sc.mount("overlay", new_root, "overlay", 0, overlay_options(spec))
    root = Path(new_root)
    for d in ("proc", "sys", "dev"):
        (root / d).mkdir(exist_ok=True)
    sc.mount("proc", str(root / "proc"), "proc", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    sc.mount("sysfs", str(root / "sys"), "sysfs", sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    _setup_dev(root / "dev", spec.devices, spec.shm_size, spec.joins.get("shm", -1), shm=spec.ipc != "none")
    privileged = bool(spec.security.get("privileged"))
    cgroupfs.mount_view(root, spec.cgroups, writable=privileged)
    if not privileged:
        _mask_kernel_files(root)


def finish(spec: ContainerSpec) -> None:
    """The monitor's /etc files (written while the network is made), the volumes
    over them, then pivot_root."""
    new_root = str(spec.directory / "merged")
    root = Path(new_root)
    mount_volumes(new_root, _etc_mounts(spec) + spec.mounts)  # -v may cover /etc/hosts
    if spec.readonly_rootfs:
        _read_only_root(root)
    _pivot(new_root)


def _etc_mounts(spec: ContainerSpec) -> list[dict[str, Any]]:
    """The monitor's hosts, resolv.conf and hostname, bound over the image's
    (docker's way: the image stays untouched and every start gets current ones).
    They go through the same in-root resolution as volumes: an image whose /etc
    or resolv.conf is a symlink cannot send the bind outside the rootfs."""
    files = [spec.directory / name for name in etcfiles.FILES]
    return [{"source": str(f), "destination": f"/etc/{f.name}"} for f in files if f.is_file()]


def mount_volumes(new_root: str, mounts: list[dict[str, Any]]) -> None:
    """Bind each volume into the rootfs, in this (the container's) mount namespace
    only: when its last process exits the kernel drops them, so stop and rm never
    have to unmount and a crash cannot leave one on the host."""
    root_fd = os.open(new_root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for mount in mounts:
            source, destination = mount["source"], mount["destination"]
            if mount.get("type") == "tmpfs":
                mount_tmpfs(root_fd, destination, mount.get("options", ""))
                continue
            if not os.path.exists(source):
                os.makedirs(source, 0o755, exist_ok=True)  # docker creates a missing host path
            kind = "dir" if os.path.isdir(source) else "file"
            # The destination is resolved inside the rootfs: a symlink or `..` in
            # the image cannot make the mount land on the host.
            fd = securejoin.open_in_root(root_fd, destination, create=kind)
            try:
                sc.mount(source, f"/proc/self/fd/{fd}", None, sc.MS_BIND | sc.MS_REC)
            finally:
                os.close(fd)
            if mount.get("readonly"):
                # Looked up again: the fd above names the directory under the new mount.
                fd = securejoin.open_in_root(root_fd, destination)
                try:
                    sc.mount(None, f"/proc/self/fd/{fd}", None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY)
                finally:
                    os.close(fd)
    finally:
        os.close(root_fd)


def mount_tmpfs(root_fd: int, destination: str, options: str) -> None:
    """--tmpfs and --mount type=tmpfs: flags as mount(8) words, the rest as data."""
    from mydocker.core.tmpfs import split_options

    flags, data = split_options(options)
    fd = securejoin.open_in_root(root_fd, destination, create="dir")
    try:
        sc.mount("tmpfs", f"/proc/self/fd/{fd}", "tmpfs", flags, data)
    finally:
        os.close(fd)


def device_rules(extra: list[dict[str, Any]]) -> list[str]:
    """The devices cgroup allow-list: the nodes we make in /dev, ptys (ptmx and
    the pts instances, major 136), and each --device with its permissions."""
    rules = [f"c {major}:{minor} rwm" for major, minor in DEVICES.values()]
    rules += ["c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"]
    rules += [f"{d['type']} {d['major']}:{d['minor']} {d['perms']}" for d in extra]
    return rules


# docker's masked and read-only paths (moby/oci/defaults.go): files that tell
# about or change the host's kernel.
MASKED = ("proc/kcore", "proc/keys", "proc/timer_list", "proc/sched_debug", "proc/latency_stats",
          "proc/timer_stats", "proc/acpi", "proc/scsi", "sys/firmware", "sys/devices/virtual/powercap")
READ_ONLY = ("proc/sys", "proc/sysrq-trigger", "proc/irq", "proc/bus", "proc/asound", "proc/fs")


def _mask_kernel_files(root: Path) -> None:
    for rel in MASKED:
        target = root / rel
        if target.is_dir() and not target.is_symlink():
            sc.mount("tmpfs", str(target), "tmpfs", sc.MS_RDONLY, "size=0")
        elif target.exists() and not target.is_symlink():
            sc.mount(str(root / "dev/null"), str(target), None, sc.MS_BIND)
    for rel in READ_ONLY:
        target = root / rel
        if target.exists() and not target.is_symlink():
            sc.mount(str(target), str(target), None, sc.MS_BIND | sc.MS_REC)
            sc.mount(None, str(target), None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY | sc.MS_REC)


def _read_only_root(root: Path) -> None:
    """--read-only: the rootfs refuses writes; /tmp and /run stay writable tmpfs."""
    for rel in ("tmp", "run"):
        target = root / rel
        if target.is_symlink():
            continue
        target.mkdir(mode=0o1777, exist_ok=True)
        sc.mount("tmpfs", str(target), "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, "mode=1777,size=65536k")
    sc.mount(None, str(root), None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY)


def borrow_mount(mnt_ns: int, path: str, target: Path) -> None:
    """The mount at path in another mount namespace, attached at target in ours.
    A bind across namespaces is refused (EINVAL); a detached copy made inside
    that namespace may be moved anywhere."""
    own = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    try:
        sc.setns(mnt_ns, sc.CLONE_NEWNS)
        try:
            tree = sc.open_tree_clone(path)
        finally:
            sc.setns(own, sc.CLONE_NEWNS)  # also resets our root and cwd to this namespace's
    finally:
        os.close(own)
    try:
        sc.move_mount_fd(tree, str(target))
    finally:
        os.close(tree)


def _setup_dev(dev: Path, extra: list[dict[str, Any]] | None = None, shm_size: int = 0, shm_from: int = -1,
               shm: bool = True) -> None:
    sc.mount("tmpfs", str(dev), "tmpfs", sc.MS_NOSUID | sc.MS_STRICTATIME, "mode=755,size=65536k")
    for name, (major, minor) in DEVICES.items():
        os.mknod(dev / name, stat.S_IFCHR | 0o666, os.makedev(major, minor))
        os.chmod(dev / name, 0o666)  # mknod's mode passes through the umask
    for device in extra or []:
        # --device: the path was checked to lie under /dev when the container was created
        node = dev / device["path"].removeprefix("/dev/")
        node.parent.mkdir(parents=True, exist_ok=True)
        kind = stat.S_IFBLK if device["type"] == "b" else stat.S_IFCHR
        os.mknod(node, kind | device["mode"], os.makedev(device["major"], device["minor"]))
        os.chmod(node, device["mode"])
    (dev / "pts").mkdir()
    sc.mount("devpts", str(dev / "pts"), "devpts", sc.MS_NOSUID | sc.MS_NOEXEC,
             "newinstance,ptmxmode=0666,mode=0620")
    os.symlink("pts/ptmx", dev / "ptmx")
    if shm_from >= 0:  # --ipc container:X: X's /dev/shm, as docker shares it
        (dev / "shm").mkdir()
        borrow_mount(shm_from, "/dev/shm", dev / "shm")
    elif shm:  # --ipc none: a private IPC namespace and no /dev/shm at all, as docker
        (dev / "shm").mkdir()
        sc.mount("shm", str(dev / "shm"), "tmpfs", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC,
                 f"mode=1777,size={shm_size or 64 * 1024 * 1024}")
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


def export_merged(layers: list[str], upper: str, out_fd: int, scratch: str) -> None:
    """Write a tar of the container's filesystem (its layers with upper on top,
    volumes and kernel filesystems excluded) to out_fd.

    The overlay is mounted read-only (upper as the top lowerdir) in a child's
    private mount namespace, so it vanishes with the child whatever happens;
    scratch is an empty directory to mount on. index=off: upper may at the same
    time be the upperdir of the running container's overlay."""
    from mydocker.core.images import write_tree

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            sc.unshare(sc.CLONE_NEWNS)
            sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
            lower = ":".join([upper, *reversed(layers)])
            sc.mount("overlay", scratch, "overlay", sc.MS_RDONLY, f"lowerdir={lower},index=off")
            with os.fdopen(out_fd, "wb", closefd=False) as out:
                write_tree(Path(scratch), out, canonical=False)
            code = 0
        except BrokenPipeError:
            code = 0
        except BaseException as exc:  # noqa: BLE001 - a forked child must never unwind into the caller
            os.write(2, f"Error: export: {exc}\n".encode())
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise OSError("export failed")
