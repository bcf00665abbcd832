"""`cp` between a container's filesystem and the host, with docker's rules.

Both sides are reached through directory fds: the container's root is either
/proc/PID/root (a live container, volumes included) or an overlay of its layers
and upper dir mounted in a throwaway mount namespace (a stopped one). Paths on
the container side are resolved with securejoin.open_in_root, so no symlink or
`..` leads out of its root; what is written goes through safetar, which never
follows a symlink it finds. Data moves as a tar stream, as docker's does.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile
from collections.abc import Callable
from typing import IO, Any

from mydocker.core import safetar
from mydocker.core import syscalls as sc
from mydocker.core.securejoin import open_in_root


class CopyError(Exception):
    pass


class NoSuchDirectory(CopyError):
    """docker's archive.ErrDirNotExists: a container destination that says it is a
    directory (a trailing /) and is not one."""

    def __init__(self) -> None:
        super().__init__("no such directory")


class NoParent(CopyError):
    """A container destination whose parent directory is missing (or a file)."""

    def __init__(self, parent: str) -> None:
        super().__init__(f"no such directory: {parent}")
        self.parent = parent


def _split(path: str) -> tuple[str, str]:
    """(parent, last component) of a container or host path; '.' keeps its meaning."""
    trimmed = path.rstrip("/") or "/"
    parent, _, base = trimmed.rpartition("/")
    return (parent or "/") if "/" in trimmed else ".", base


def open_source(root_fd: int, path: str, follow: bool) -> tuple[int, str]:
    """An O_PATH fd of the source and the name it gets in the archive.

    Without follow (-L), a symlink named by the path is copied as a link."""
    parent, base = _split(path)
    try:
        if follow or base in ("", ".", ".."):
            fd = open_in_root(root_fd, path)
        else:
            parent_fd = open_in_root(root_fd, parent)
            try:
                fd = os.open(base, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
            finally:
                os.close(parent_fd)
    except FileNotFoundError:
        raise CopyError(f"Could not find the file {path} in container") from None
    except NotADirectoryError:
        raise CopyError(f"Could not find the file {path} in container") from None
    if path.endswith("/") and not stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise CopyError(f"{path}: not a directory")
    return fd, base if base not in ("", ".", "..") else "."


def write_archive(out: IO[bytes], src_fd: int, arcname: str, contents_only: bool, keep_owner: bool) -> None:
    """A tar of the source (a file, link or tree) named arcname; contents_only
    (`dir/.`) puts the directory's entries at the top instead."""
    here = f"/proc/self/fd/{src_fd}"

    def owner(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if info.ischr() or info.isblk() or info.isfifo():
            return None  # nothing safetar would write anyway
        if not keep_owner:
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
        return info

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        st = os.fstat(src_fd)
        # The top entry is described from the fd itself: an lstat of the
        # /proc/self/fd path would see the magic link, not the file.
        if stat.S_ISREG(st.st_mode):
            with open(os.open(here, os.O_RDONLY | os.O_CLOEXEC), "rb") as f:
                shown = owner(tar.gettarinfo(arcname=arcname, fileobj=f))
                if shown is not None:
                    tar.addfile(shown, f)
            return
        info = tarfile.TarInfo(arcname)
        info.mtime, info.mode, info.uid, info.gid = int(st.st_mtime), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
        if stat.S_ISLNK(st.st_mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink("", dir_fd=src_fd)
        elif stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
        else:
            return  # a device or fifo: not copied
        if not (stat.S_ISDIR(st.st_mode) and contents_only):
            shown = owner(info)
            if shown is not None:
                tar.addfile(shown)
        if stat.S_ISDIR(st.st_mode):
            prefix = "" if contents_only else f"{arcname}/"
            for name in sorted(os.listdir(here)):
                tar.add(os.path.join(here, name), arcname=prefix + name, filter=owner)


def plan_destination(root_fd: int, path: str, source_is_dir: bool, name: str,
                     container_side: bool) -> tuple[int, str | None]:
    """(fd of the directory to extract into, new name for the top entry or None).

    docker: an existing directory receives the source under its own name; a
    missing path becomes the copy (its parent must exist); a file is replaced by
    a file; a directory onto a file is refused."""
    where = "container" if container_side else "local"
    try:
        fd = open_in_root(root_fd, path) if container_side else os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = -1
    except NotADirectoryError:
        if container_side:
            raise NoSuchDirectory() if path.endswith("/") else NoParent(_split(path)[0]) from None
        raise CopyError(f"{path}: not a directory") from None
    if fd >= 0:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            return fd, None
        os.close(fd)
        if source_is_dir:
            raise CopyError("cannot copy a directory to a file")
        if path.endswith("/"):
            raise NoSuchDirectory() if container_side else CopyError(f"{path}: not a directory")
    elif path.endswith("/") and not source_is_dir:
        raise NoSuchDirectory() if container_side else CopyError(f"{where} directory {path} does not exist")
    parent, base = _split(path)
    try:
        if container_side:
            parent_fd = open_in_root(root_fd, parent)
        else:
            parent_fd = os.open(parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise NoParent(parent) if container_side else CopyError(f"no such directory: {parent}") from None
    if not stat.S_ISDIR(os.fstat(parent_fd).st_mode):
        os.close(parent_fd)
        raise NoParent(parent) if container_side else CopyError(f"{parent}: not a directory")
    return parent_fd, base


def extract_into(dir_fd: int, stream: IO[bytes]) -> None:
    """Unpack the tar into dir_fd through safetar, which never follows a symlink
    it finds there (a container's `evil -> /etc` stays inside)."""
    cwd = os.open(".", os.O_PATH | os.O_CLOEXEC)
    try:
        os.fchdir(dir_fd)
        safetar.extract(stream, ".", whiteouts="skip")  # type: ignore[arg-type]
    except safetar.UnsafeArchive as exc:
        raise CopyError(str(exc)) from None
    finally:
        os.fchdir(cwd)
        os.close(cwd)


def in_overlay(layers: list[str], upper: str, work: str, scratch: str, action: Callable[[int], Any]) -> None:
    """Run action(root_fd) in a child that mounts the container's overlay (read
    and write, as its own would be) in a private mount namespace; the mount goes
    with the child. Raises CopyError with the child's message."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 1
        try:
            sc.unshare(sc.CLONE_NEWNS)
            sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
            lower = ":".join(reversed(layers))
            sc.mount("overlay", scratch, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")
            root_fd = os.open(scratch, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            action(root_fd)
            code = 0
        except BrokenPipeError:
            code = 0
        except BaseException as exc:  # noqa: BLE001 - a forked child must never unwind into the caller
            os.write(write_end, str(exc).encode()[:4000])
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        message = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise CopyError(message or "copy failed")


def live_root(pid: int) -> int:
    """The root directory a live container's processes see (its mounts included)."""
    try:
        return os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ESRCH):
            raise CopyError("the container stopped meanwhile") from None
        raise
