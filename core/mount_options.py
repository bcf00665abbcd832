"""A local volume's `o=` option as docker's local driver hands it to mount(2):
mount(8)'s flag words become MS_* bits, every other word stays in the data
string (moby/sys/mount's parseOptions), so `o=size=1m,uid=1000,noexec` is the
data `size=1m,uid=1000` with MS_NOEXEC."""

from __future__ import annotations

from mydocker.core.syscalls import (
    MS_BIND,
    MS_DIRSYNC,
    MS_MANDLOCK,
    MS_NOATIME,
    MS_NODEV,
    MS_NODIRATIME,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_RELATIME,
    MS_REMOUNT,
    MS_SHARED,
    MS_SLAVE,
    MS_STRICTATIME,
    MS_SYNCHRONOUS,
    MS_UNBINDABLE,
)

# word -> (clears the bit instead of setting it, bit)
FLAGS: dict[str, tuple[bool, int]] = {
    "ro": (False, MS_RDONLY), "rw": (True, MS_RDONLY),
    "suid": (True, MS_NOSUID), "nosuid": (False, MS_NOSUID),
    "dev": (True, MS_NODEV), "nodev": (False, MS_NODEV),
    "exec": (True, MS_NOEXEC), "noexec": (False, MS_NOEXEC),
    "sync": (False, MS_SYNCHRONOUS), "async": (True, MS_SYNCHRONOUS),
    "dirsync": (False, MS_DIRSYNC), "remount": (False, MS_REMOUNT),
    "mand": (False, MS_MANDLOCK), "nomand": (True, MS_MANDLOCK),
    "atime": (True, MS_NOATIME), "noatime": (False, MS_NOATIME),
    "diratime": (True, MS_NODIRATIME), "nodiratime": (False, MS_NODIRATIME),
    "bind": (False, MS_BIND), "rbind": (False, MS_BIND | MS_REC),
    "unbindable": (False, MS_UNBINDABLE), "runbindable": (False, MS_UNBINDABLE | MS_REC),
    "private": (False, MS_PRIVATE), "rprivate": (False, MS_PRIVATE | MS_REC),
    "shared": (False, MS_SHARED), "rshared": (False, MS_SHARED | MS_REC),
    "slave": (False, MS_SLAVE), "rslave": (False, MS_SLAVE | MS_REC),
    "relatime": (False, MS_RELATIME), "norelatime": (True, MS_RELATIME),
    "strictatime": (False, MS_STRICTATIME), "nostrictatime": (True, MS_STRICTATIME),
}
# A propagation change is a mount(2) call of its own, after the mount itself.
PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE


def parse(options: str) -> tuple[int, str]:
    """(flags, data); later words win, as mount(8): `ro,rw` mounts read-write."""
    flags, data = 0, []
    for word in filter(None, options.split(",")):
        if word in FLAGS:
            clear, bit = FLAGS[word]
            flags = flags & ~bit if clear else flags | bit
        else:
            data.append(word)
    return flags, ",".join(data)


def describe(device: str, target: str, flags: int, data: str, err: OSError) -> str:
    """moby's mountError text: `mount DEV:TARGET, flags: 0x1000, data: ...: reason`."""
    import os

    out = f"mount {device}:{target}" if device else f"mount {target}"
    if flags:
        out += f", flags: {flags:#x}"
    if data:
        out += f", data: {data}"
    reason = os.strerror(err.errno) if err.errno else str(err)
    return f"{out}: {reason[:1].lower()}{reason[1:]}"  # Go's errno words are lower case
