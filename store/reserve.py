"""Space held back so that a full disk can still be emptied with mydocker itself.

ROOT/reserve is a preallocated file of RESERVE_BYTES. Nothing is ever written into
it; it only holds blocks that whatever fills the disk cannot take:

- Commands that free space (rm, rmi, volume rm, system prune), and a monitor
  recording its container's end, call release_if_low() before they open the
  database: when the filesystem has less than RESERVE_BYTES free, FREEING_SLICE is
  cut off the reserve, enough for their few events and WAL pages. A slice, not the
  whole file: something may go on filling the disk, and the next rm needs its own.
- Reading commands need no space: on a full disk db.connect() reads the database
  file read-only (see there); only when the WAL still holds unmerged pages does it
  cut OPEN_SLICE off the reserve to make the -shm file a WAL reader needs.
- Every other write meets the full disk: SQLite rolls its transaction back, the
  command prints one line, nothing changed.
- ensure() (every connect) tops the reserve up again once the filesystem has room
  for what is missing plus a whole reserve more, so it comes back after space was
  freed, and is made on a root's first use.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

RESERVE_NAME = "reserve"
RESERVE_BYTES = 8 << 20
FREEING_SLICE = 1 << 20
OPEN_SLICE = 256 << 10


def path(root: str | Path) -> Path:
    return Path(root) / RESERVE_NAME


def free_bytes(root: str | Path) -> int:
    st = os.statvfs(root)
    return st.f_bavail * st.f_frsize


def held(root: str | Path) -> int:
    try:
        return os.stat(path(root)).st_size
    except FileNotFoundError:
        return 0


def ensure(root: str | Path) -> bool:
    """Make or top up the reserve when there is room; True if it is whole.
    Cheap when it is: one stat."""
    have = held(root)
    if have >= RESERVE_BYTES:
        return True
    if free_bytes(root) < (RESERVE_BYTES - have) + RESERVE_BYTES:
        return False
    try:
        fd = os.open(path(root), os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            _allocate(fd, have, RESERVE_BYTES)
        finally:
            os.close(fd)
        return True
    except OSError:
        return False


def _allocate(fd: int, start: int, end: int) -> None:
    try:
        os.posix_fallocate(fd, start, end - start)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        # A filesystem without fallocate: real blocks, written once.
        os.lseek(fd, start, os.SEEK_SET)
        chunk = b"\0" * (64 << 10)
        while start < end:
            start += os.write(fd, chunk[: end - start])


def release_if_low(root: str | Path) -> bool:
    """Cut FREEING_SLICE off the reserve when the filesystem has less free space than
    a whole reserve: the caller is about to write what frees space."""
    try:
        if free_bytes(root) >= RESERVE_BYTES:
            return False
    except OSError:
        return False
    return trim(root, FREEING_SLICE)


def trim(root: str | Path, amount: int) -> bool:
    """Free `amount` from the end of the reserve; False if there is nothing left."""
    size = held(root)
    if size == 0:
        return False
    try:
        os.truncate(path(root), max(0, size - amount))
    except OSError:
        return False
    return True


def disk_full(root: str | Path) -> bool:
    """Whether an I/O error on ROOT is explained by it being (nearly) out of space."""
    try:
        return free_bytes(root) < OPEN_SLICE
    except OSError:
        return False
