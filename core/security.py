"""What a container's processes may do: capabilities, no_new_privs, seccomp,
resource limits. Applied by the container's init (and by exec) just before the
command is executed, in the order the kernel needs:

    no_new_privs -> bounding set -> user/group -> capability sets -> seccomp

docker's defaults are the anchor: the same 14 capabilities, and a seccomp
filter that refuses the system calls a container has no business making.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
from dataclasses import dataclass, field

from mydocker.core import syscalls as sc

CAPABILITIES = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5,
    "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9, "NET_BIND_SERVICE": 10,
    "NET_BROADCAST": 11, "NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "IPC_OWNER": 15,
    "SYS_MODULE": 16, "SYS_RAWIO": 17, "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20,
    "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23, "SYS_RESOURCE": 24, "SYS_TIME": 25,
    "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28, "AUDIT_WRITE": 29, "AUDIT_CONTROL": 30,
    "SETFCAP": 31, "MAC_OVERRIDE": 32, "MAC_ADMIN": 33, "SYSLOG": 34, "WAKE_ALARM": 35,
    "BLOCK_SUSPEND": 36, "AUDIT_READ": 37, "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40,
}

# docker's default set (moby/oci/caps/defaults.go)
DEFAULT_CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
    "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
)

# Refused with EPERM by the default filter: what would reach out of the
# container (mounts, namespaces, other processes' memory), change the whole
# machine (time, reboot, modules, swap, kexec) or widen the kernel's attack
# surface (bpf, keys, perf, userfaultfd, handles to host files).
DENIED_SYSCALLS = (
    "mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsmount", "fspick",
    "mount_setattr", "setns", "kexec_load", "kexec_file_load", "reboot", "init_module", "finit_module",
    "delete_module", "bpf", "keyctl", "add_key", "request_key", "ptrace", "process_vm_readv",
    "process_vm_writev", "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "syslog", "perf_event_open", "open_by_handle_at", "name_to_handle_at", "lookup_dcookie",
    "quotactl", "iopl", "ioperm", "userfaultfd", "vhangup", "uselib", "ustat", "sysfs", "_sysctl",
    "create_module", "get_kernel_syms", "query_module", "nfsservctl", "kcmp",
)
CLONE_NEWUSER = 0x10000000

ULIMITS = {
    "core": resource.RLIMIT_CORE, "cpu": resource.RLIMIT_CPU, "data": resource.RLIMIT_DATA,
    "fsize": resource.RLIMIT_FSIZE, "locks": 10, "memlock": resource.RLIMIT_MEMLOCK,  # RLIMIT_LOCKS
    "msgqueue": resource.RLIMIT_MSGQUEUE, "nice": resource.RLIMIT_NICE, "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC, "rss": resource.RLIMIT_RSS, "rtprio": resource.RLIMIT_RTPRIO,
    "sigpending": resource.RLIMIT_SIGPENDING, "stack": resource.RLIMIT_STACK, "as": resource.RLIMIT_AS,
}



class SecurityError(Exception):
    pass


@dataclass
class Profile:
    """Everything applied to a container's processes; plain data for the spec."""

    capabilities: list[str] = field(default_factory=lambda: list(DEFAULT_CAPABILITIES))
    privileged: bool = False
    seccomp: bool = True
    no_new_privileges: bool = True
    ulimits: dict[str, list[int]] = field(default_factory=dict)  # name -> [soft, hard]
    # The OCI runtime's five sets by name (bounding, effective, permitted,
    # inheritable, ambient); None: `capabilities` is every set, docker's way.
    capability_sets: dict[str, list[str]] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> "Profile":
        return cls(**data) if data else cls()  # type: ignore[arg-type]


def capability_set(add: list[str], drop: list[str], privileged: bool) -> list[str]:
    """docker's --cap-add/--cap-drop arithmetic ('ALL' allowed; 'CAP_' optional)."""
    if privileged:
        return sorted(CAPABILITIES)
    names = set(DEFAULT_CAPABILITIES)
    drops = {normalize_capability(c) for c in drop}
    adds = {normalize_capability(c) for c in add}
    if "ALL" in drops:
        names = set()
    names -= drops
    if "ALL" in adds:
        names = set(CAPABILITIES)
    names |= adds - {"ALL"}
    return sorted(names)


def normalize_capability(name: str) -> str:
    raw = name.strip().upper()
    raw = raw[4:] if raw.startswith("CAP_") else raw
    if raw != "ALL" and raw not in CAPABILITIES:
        raise SecurityError(f"unknown capability: {name!r}")
    return raw


def parse_ulimit(text: str) -> tuple[str, list[int]]:
    """name=soft[:hard], as docker's --ulimit (-1 for unlimited)."""
    name, eq, values = text.partition("=")
    if not eq or name not in ULIMITS:
        raise SecurityError(f"invalid ulimit {text!r}: use NAME=SOFT[:HARD] with NAME one of {', '.join(ULIMITS)}")
    parts = values.split(":")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise SecurityError(f"invalid ulimit {text!r}: limits must be integers") from None
    if len(numbers) not in (1, 2) or any(n < -1 for n in numbers):
        raise SecurityError(f"invalid ulimit {text!r}")
    soft, hard = numbers[0], numbers[-1]
    if hard != -1 and (soft == -1 or soft > hard):
        raise SecurityError(f"invalid ulimit {text!r}: soft limit must not exceed the hard limit")
    return name, [soft, hard]


def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return max(CAPABILITIES.values())


def preload(profile: Profile) -> None:
    """Load libseccomp while the host's filesystem is still there: the container's
    rootfs has no libseccomp to load after pivot_root."""
    if profile.seccomp and not profile.privileged:
        _seccomp_lib()


def apply(profile: Profile, uid: int = 0, gid: int = 0, groups: list[int] | None = None) -> None:
    """Run in the process that will exec the container's command (as root)."""
    for name, (soft, hard) in profile.ulimits.items():
        inf = resource.RLIM_INFINITY
        resource.setrlimit(ULIMITS[name], (inf if soft == -1 else soft, inf if hard == -1 else hard))
    if profile.no_new_privileges and not profile.privileged:
        sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
    # A set can only shrink: what the runtime itself lacks (a sandbox may withhold
    # CAP_SYS_RESOURCE, say) cannot be handed to the container, even --privileged.
    permitted = _permitted()
    named = profile.capability_sets
    if named is None:
        named = {kind: profile.capabilities for kind in ("bounding", "effective", "permitted", "inheritable")}
    sets = {kind: {CAPABILITIES[c] for c in named.get(kind) or []} & permitted
            for kind in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    for cap in range(_last_cap() + 1):
        if cap not in sets["bounding"]:
            try:
                sc.prctl(sc.PR_CAPBSET_DROP, cap)
            except OSError as exc:
                if exc.errno != errno.EINVAL:  # a capability this kernel does not know
                    raise
    explicit = profile.capability_sets is not None
    os.setgroups(groups or [])
    if explicit and uid:
        sc.prctl(sc.PR_SET_KEEPCAPS, 1)  # the spec's sets hold for a non-root user too (runc's order)
    if gid:
        os.setresgid(gid, gid, gid)
    if uid:
        os.setresuid(uid, uid, uid)  # without keepcaps a non-root user's sets are cleared here
    if explicit:
        if uid:
            sc.prctl(sc.PR_SET_KEEPCAPS, 0)
        sc.capset(sets["effective"], sets["permitted"], sets["inheritable"])
    elif not uid:
        sc.capset(sets["bounding"], sets["bounding"], sets["bounding"])
    try:
        sc.prctl(sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass
    for cap in sorted(sets["ambient"]):
        sc.prctl(sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_RAISE, cap)
    if profile.seccomp and not profile.privileged:
        load_seccomp()


def _permitted() -> set[int]:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapPrm:"):
                mask = int(line.split()[1], 16)
                return {bit for bit in range(64) if mask >> bit & 1}
    return set(CAPABILITIES.values())


# libseccomp's ABI (seccomp.h): actions, comparison operators, struct scmp_arg_cmp.
LIBSECCOMP = "libseccomp.so.2"
_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_CMP_MASKED_EQ = 7
_NR_SCMP_ERROR = -1  # a name libseccomp does not know (other negatives are its pseudo numbers)


def _scmp_act_errno(err: int) -> int:
    return 0x00050000 | (err & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


_libseccomp: ctypes.CDLL | None = None


def _seccomp_lib() -> ctypes.CDLL:
    """libseccomp by its soname. A binding that looks it up with
    ctypes.util.find_library runs `ldconfig -p` first: ~21 ms of every run and exec."""
    global _libseccomp
    if _libseccomp is None:
        lib = ctypes.CDLL(LIBSECCOMP)
        lib.seccomp_init.argtypes = (ctypes.c_uint32,)
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_syscall_resolve_name.argtypes = (ctypes.c_char_p,)
        lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
        lib.seccomp_rule_add_array.argtypes = (ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                               ctypes.POINTER(_ArgCmp))
        lib.seccomp_rule_add_array.restype = ctypes.c_int
        lib.seccomp_load.argtypes = (ctypes.c_void_p,)
        lib.seccomp_load.restype = ctypes.c_int
        lib.seccomp_release.argtypes = (ctypes.c_void_p,)
        lib.seccomp_release.restype = None
        _libseccomp = lib
    return _libseccomp


def _check(res: int, what: str) -> None:
    if res < 0:
        raise OSError(-res, f"{what}: {os.strerror(-res)}")


def load_seccomp() -> None:
    """Allow by default, refuse DENIED_SYSCALLS and new user namespaces with EPERM."""
    lib = _seccomp_lib()
    flt = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not flt:
        raise OSError(errno.EINVAL, "seccomp_init failed")
    try:
        def rule(action: int, name: str, *args: _ArgCmp) -> bool:
            """False when the name is no system call on this architecture."""
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr == _NR_SCMP_ERROR:
                return False
            _check(lib.seccomp_rule_add_array(flt, action, nr, len(args), (_ArgCmp * len(args))(*args)),
                   f"seccomp rule for {name}")
            return True

        for name in DENIED_SYSCALLS:
            try:
                rule(_scmp_act_errno(errno.EPERM), name)
            except OSError:
                continue
        # unshare(CLONE_NEWUSER) and clone(CLONE_NEWUSER): refused; other flags pass.
        for name, arg in (("unshare", 0), ("clone", 0)):
            if not rule(_scmp_act_errno(errno.EPERM), name,
                        _ArgCmp(arg, _SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)):
                raise OSError(errno.EINVAL, f"seccomp: no system call {name}")
        try:
            rule(_scmp_act_errno(errno.ENOSYS), "clone3")  # its flags live in memory: make libc fall back
        except OSError:
            pass
        _check(lib.seccomp_load(flt), "seccomp_load")
    finally:
        lib.seccomp_release(flt)
