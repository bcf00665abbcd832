"""tmpfs mount options as mount(2) wants them: mount(8)'s flag words become
MS_* bits, the rest (size=, mode=, uid=...) stays the data string."""

from __future__ import annotations

from mydocker.core import syscalls as sc

_SET = {"ro": sc.MS_RDONLY, "noexec": sc.MS_NOEXEC, "nosuid": sc.MS_NOSUID, "nodev": sc.MS_NODEV}
_CLEAR = {"rw": sc.MS_RDONLY, "exec": sc.MS_NOEXEC, "suid": sc.MS_NOSUID, "dev": sc.MS_NODEV}
_IGNORED = {"atime", "noatime", "relatime", "strictatime", "diratime", "nodiratime", "sync", "async"}


def split_options(options: str) -> tuple[int, str]:
    """Later words win, as mount(8): `noexec,exec` leaves exec allowed."""
    flags, data = 0, []
    for option in filter(None, options.split(",")):
        if option in _SET:
            flags |= _SET[option]
        elif option in _CLEAR:
            flags &= ~_CLEAR[option]
        elif option not in _IGNORED:
            data.append(option)
    return flags, ",".join(data)
