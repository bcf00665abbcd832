"""Resolving a container path inside a root directory without ever leaving it.

The image decides what its paths are: `/data` may be a symlink to `/etc/../../`
or to an absolute host path. A mount that followed it from the host's point of
view would land on the host. open_in_root() walks the path one component at a
time with *at() calls relative to directory fds, evaluating every symlink as
the container would see it (absolute targets restart at the root, `..` at the
root stays there), like runc's securejoin or openat2(RESOLVE_IN_ROOT). It
returns an O_PATH fd of the target; mounting onto /proc/self/fd/N then hits
exactly that inode, with no second lookup an attacker could race.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque

MAX_SYMLINKS = 40


def _components(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def open_in_root(root_fd: int, path: str, create: str | None = None) -> int:
    """An O_PATH fd of `path` resolved under root_fd as if root_fd were "/".

    create: None (everything must exist), "dir" or "file": missing components
    are made (intermediate ones as directories, the last one as `create` says).
    The caller closes the returned fd.
    """
    parts = deque(_components(path))
    stack = [os.dup(root_fd)]  # fds from the root down to the current directory
    links = 0
    try:
        while parts:
            name = parts.popleft()
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            current = stack[-1]
            try:
                st = os.stat(name, dir_fd=current, follow_symlinks=False)
            except FileNotFoundError:
                if create is None:
                    raise
                if parts or create == "dir":
                    os.mkdir(name, 0o755, dir_fd=current)
                else:
                    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
                    os.close(os.open(name, flags, 0o644, dir_fd=current))
                st = os.stat(name, dir_fd=current, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, f"too many levels of symbolic links in {path}")
                target = os.readlink(name, dir_fd=current)
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                parts.extendleft(reversed(_components(target)))
                continue
            if parts and not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, f"{name} in {path} is not a directory")
            fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=current)
            opened = os.fstat(fd)
            if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
                os.close(fd)  # swapped between the stat and the open: do not trust either
                raise OSError(errno.EAGAIN, f"{path} changed while it was being resolved")
            stack.append(fd)
        return stack.pop()
    finally:
        for fd in stack:
            os.close(fd)


def fd_path(fd: int) -> str:
    """The path the kernel gives an fd (what mount(2) will act on)."""
    return os.readlink(f"/proc/self/fd/{fd}")


def resolve(root: str, path: str, create: str | None = None) -> str:
    """open_in_root() by path, for callers that need a host path (not race-free
    on its own; the mount code uses the fd)."""
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = open_in_root(root_fd, path, create)
        try:
            return fd_path(fd)
        finally:
            os.close(fd)
    finally:
        os.close(root_fd)
