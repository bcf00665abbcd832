"""The one place that talks to libc through ctypes.

Everything above calls these functions instead of ctypes, so unit tests can swap
in a fake (tests/fakes.py) and the kernel is only needed where it is the point.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWCGROUP = 0x02000000

# setns(2) targets: /proc/PID/ns/<name> -> the nstype that checks the fd is that kind,
# in the order runc joins them (mnt last: after it, host paths are gone).
NAMESPACE_TYPES = {
    "ipc": CLONE_NEWIPC,
    "uts": CLONE_NEWUTS,
    "net": CLONE_NEWNET,
    "pid": CLONE_NEWPID,
    "mnt": CLONE_NEWNS,
}

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24

MNT_DETACH = 2

PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_KEEPCAPS = 8
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# rt_sigaction(2) by machine (the generic table's number unless the arch kept its own).
_SYS_RT_SIGACTION = {"x86_64": 13, "aarch64": 134, "riscv64": 134, "ppc64le": 173, "s390x": 174,
                     "i686": 174, "armv7l": 174}.get(os.uname().machine)
# glibc has no pivot_root() wrapper, so it goes through syscall(2), whose numbers
# differ per architecture. Unknown machines are refused at the call, not guessed.
_SYS_PIVOT_ROOT_BY_MACHINE = {"x86_64": 155, "aarch64": 41}
_SYS_BPF_BY_MACHINE = {"x86_64": 321, "aarch64": 280}


def syscall_number(name: str, machine: str | None = None) -> int:
    machine = machine or os.uname().machine
    table = {"pivot_root": _SYS_PIVOT_ROOT_BY_MACHINE, "bpf": _SYS_BPF_BY_MACHINE}[name]
    if machine not in table:
        raise OSError(errno.ENOSYS, f"{name}: no syscall number known for architecture {machine!r} "
                                    f"(known: {', '.join(sorted(table))})")
    return table[machine]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), f"mount {target}")


def umount(target: str, flags: int = 0) -> None:
    """Unmount; a target that is not mounted (or gone) counts as done."""
    if _libc.umount2(_b(target), flags) != 0:
        err = ctypes.get_errno()
        if err in (errno.EINVAL, errno.ENOENT):
            return
        raise OSError(err, f"umount {target}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_libc.setns(fd, nstype), "setns")


class thread_in_netns:  # noqa: N801 - a context manager, named as one reads it: with thread_in_netns(...)
    """This thread inside the network namespace at `path` for a `with` block, and back
    in its own on the way out; other threads stay where they are. Sockets made inside
    belong to that namespace for good, which is the point (netlink, the DNS server's).
    An OSError from opening the path carries its filename; one from entering does not.
    A plain class, not contextlib: the waiter that opens DNS sockets counts its memory."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.own = -1

    def __enter__(self) -> None:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            theirs = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                setns(theirs, CLONE_NEWNET)
            finally:
                os.close(theirs)
        except BaseException:
            os.close(own)
            raise
        self.own = own

    def __exit__(self, *exc: object) -> None:
        try:
            setns(self.own, CLONE_NEWNET)
        finally:
            os.close(self.own)


# The new mount API's numbers are the same on every architecture (from 424 up).
_SYS_OPEN_TREE, _SYS_MOVE_MOUNT = 428, 429
OPEN_TREE_CLONE = 1
MOVE_MOUNT_F_EMPTY_PATH = 0x4
AT_FDCWD = -100


def open_tree_clone(path: str) -> int:
    """A detached copy of the mount at path (of our mount namespace), as an fd."""
    fd = _libc.syscall(_SYS_OPEN_TREE, AT_FDCWD, _b(path), OPEN_TREE_CLONE | os.O_CLOEXEC)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"open_tree {path}: {os.strerror(err)}")
    return int(fd)


BPF_PROG_LOAD, BPF_PROG_ATTACH = 5, 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6  # the attach type
BPF_F_ALLOW_MULTI = 2


def _bpf(command: int, attr: bytes) -> int:
    buf = ctypes.create_string_buffer(attr, 128)  # the rest of union bpf_attr stays zero
    result = _libc.syscall(syscall_number("bpf"), command, buf, 128)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf({command}): {os.strerror(err)}")
    return int(result)


def bpf_prog_load(prog_type: int, insns: bytes, license: str) -> int:
    """fd of the loaded program; the verifier's log is in the error if it refuses."""
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(license.encode())
    log = ctypes.create_string_buffer(65536)

    def load(log_level: int) -> int:
        attr = struct.pack("<IIQQIIQII16sII", prog_type, len(insns) // 8, ctypes.addressof(code),
                           ctypes.addressof(lic), log_level, len(log) if log_level else 0,
                           ctypes.addressof(log) if log_level else 0, 0, 0, b"", 0, 0)
        return _bpf(BPF_PROG_LOAD, attr)

    try:
        return load(0)
    except OSError as exc:
        if exc.errno != errno.EINVAL and exc.errno != errno.EACCES:
            raise
        try:  # again, for the verifier's words
            return load(1)
        except OSError as again:
            raise OSError(again.errno, f"{again.strerror}: {log.value.decode(errors='replace').strip()}") from None


def bpf_prog_attach(target_fd: int, prog_fd: int, attach_type: int, flags: int) -> None:
    _bpf(BPF_PROG_ATTACH, struct.pack("<IIIII", target_fd, prog_fd, attach_type, flags, 0))


def move_mount_fd(tree: int, target: str) -> None:
    """Attach a detached mount tree (open_tree_clone's) at target."""
    _check(_libc.syscall(_SYS_MOVE_MOUNT, tree, b"", AT_FDCWD, _b(target), MOVE_MOUNT_F_EMPTY_PATH),
           f"move_mount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(syscall_number("pivot_root"), _b(new_root), _b(put_old)), "pivot_root")


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> None:
    _check(_libc.prctl(option, arg2, arg3, 0, 0), f"prctl({option})")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def capset(effective: set[int], permitted: set[int], inheritable: set[int]) -> None:
    """This thread's three capability sets, by capability number."""
    def word(caps: set[int], half: int) -> int:
        return sum(1 << (c - 32 * half) for c in caps if c // 32 == half)

    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)(*(_CapData(word(effective, h), word(permitted, h), word(inheritable, h)) for h in (0, 1)))
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_libc.setdomainname(raw, len(raw)), "setdomainname")


def interface_up(name: str) -> None:
    """Set IFF_UP on a link in the current network namespace (used for lo in
    the container's init, where importing pyroute2 would cost ~150 ms)."""
    import fcntl
    import socket
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sH22x", name.encode(), 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s.fileno(), siocgifflags, ifreq))[1]
        fcntl.ioctl(s.fileno(), siocsifflags, struct.pack("16sH22x", name.encode(), flags | iff_up))


def reset_signal(sig: int) -> None:
    """SIG_DFL for sig through rt_sigaction(2) itself, for the signals the C library
    keeps for its own use and refuses to touch (glibc: 32 and 33), which a caller
    may still have left ignored. An all-zero kernel sigaction is SIG_DFL with no
    flags and an empty mask, whatever the architecture's field order."""
    if _SYS_RT_SIGACTION is None:
        return
    action = ctypes.create_string_buffer(64)
    _check(_libc.syscall(ctypes.c_long(_SYS_RT_SIGACTION), ctypes.c_long(sig), action, None, ctypes.c_long(8)),
           "rt_sigaction")


def set_controlling_tty(fd: int) -> None:
    import fcntl
    import termios

    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
