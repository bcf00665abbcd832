"""Commands that free space run even when the disk under ROOT is full.

They (and a monitor recording its container's end) call before_freeing() before
they open the database: it hands them the space store/reserve.py holds back."""

from __future__ import annotations


def before_freeing(root: str) -> None:
    from mydocker.store.db import release_reserve_if_low

    release_reserve_if_low(root)


def is_disk_full(exc: BaseException) -> bool:
    """SQLite's disk-full (store.db.DiskFull) or ENOSPC/EDQUOT from a file write."""
    import errno

    from mydocker.store.db import DiskFull

    return isinstance(exc, DiskFull) or (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))
