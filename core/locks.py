"""Per-container locks: flock on ROOT/locks/<id>, so two commands on one container
serialize and the loser re-checks the transition after the winner is done."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_path(root: str | Path, key: str) -> Path:
    return Path(root) / "locks" / key


@contextmanager
def hold(root: str | Path, key: str) -> Iterator[None]:
    path = lock_path(root, key)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        # The holder we waited for may have removed the aggregate and unlinked this
        # file (forget): our lock is then on an orphan inode that a newcomer would
        # not see, and two processes would both "hold" the lock. Open the path again.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)


@contextmanager
def flocked(path: str | Path, mode: int = 0o600) -> Iterator[None]:
    """An exclusive flock on PATH (made with MODE when missing) for the block."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def forget(root: str | Path, key: str) -> None:
    """Remove a lock file of an aggregate that no longer exists (while holding it:
    a waiter that then gets the stale lock finds the aggregate gone and stops)."""
    try:
        os.unlink(lock_path(root, key))
    except FileNotFoundError:
        pass
