"""Extracting untrusted tar archives (image layers, imports, `load` archives).

Nothing in an archive may write outside the target directory:
- names are relative and never contain `..` (an absolute name or a `..` refuses
  the whole archive: a well-formed image never has one);
- every parent directory is walked with openat(O_NOFOLLOW) from the target, so a
  symlink the archive planted (`evil -> /etc`) is never followed: `evil/passwd`
  refuses the archive. Symlinks themselves are created as they are: their target
  is only text until a container resolves it inside its own root;
- hard links may only point at a file already extracted into the target;
- device nodes and fifos are refused (a layer has no business shipping /dev/sda).

Layer whiteouts (`.wh.NAME`, `.wh..wh..opq`) become overlayfs whiteouts in the
layer directory (a 0:0 character device, the trusted.overlay.opaque xattr), so
the layer can be an overlay lowerdir as it is.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import shutil
import stat
import tarfile
from pathlib import Path
from typing import IO, BinaryIO

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeArchive(Exception):
    """The archive tries to leave its target (or is not an archive we accept)."""


class HashingReader:
    """Reads through, hashing every byte (a layer's diff_id is the sha256 of its
    uncompressed tar stream, end padding included)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(1 << 20):
            pass

    def diff_id(self) -> str:
        return "sha256:" + self.digest.hexdigest()


def decompressed(raw: BinaryIO) -> IO[bytes]:
    """raw as it is, or gunzipped if it starts with gzip's magic."""
    import io

    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)  # type: ignore[arg-type,type-var]
    if buffered.peek(2)[:2] == b"\x1f\x8b":  # type: ignore[union-attr]
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered  # type: ignore[return-value]


def clean_name(name: str) -> list[str]:
    """An archive member's path as components; UnsafeArchive if it could escape."""
    if name.startswith("/"):
        raise UnsafeArchive(f"absolute path in archive: {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"'..' in archive path: {name!r}")
    if any("\0" in p for p in parts):
        raise UnsafeArchive(f"NUL in archive path: {name!r}")
    return parts


def extract(fileobj: BinaryIO, target: str | Path, whiteouts: str = "overlay") -> str:
    """Extract the (maybe gzipped) tar into target; returns its diff_id.

    whiteouts: "overlay" turns them into overlayfs whiteouts (a layer directory),
    "skip" ignores them (a plain rootfs or an image archive's outer tar).
    """
    reader = HashingReader(decompressed(fileobj))
    root_fd = os.open(target, _DIR_FLAGS)
    try:
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    _extract_member(tar, member, root_fd, whiteouts)
        except (tarfile.TarError, EOFError, gzip.BadGzipFile) as exc:
            raise UnsafeArchive(f"not a valid tar archive: {exc}") from exc
        reader.drain()
    finally:
        os.close(root_fd)
    return reader.diff_id()


def _open_dir(root_fd: int, parts: list[str], create: bool) -> int:
    """fd of the directory parts (relative to root_fd), never through a symlink."""
    fd = os.dup(root_fd)
    try:
        for name in parts:
            try:
                nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise UnsafeArchive(f"hard link to a missing file: {'/'.join(parts)}") from None
                os.mkdir(name, 0o755, dir_fd=fd)
                nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafeArchive(f"path goes through a symlink or a file: {'/'.join(parts)}") from None
                raise
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def _remove(dir_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        shutil.rmtree(name, dir_fd=dir_fd)
    except PermissionError:  # EPERM from unlink(2) on a directory
        shutil.rmtree(name, dir_fd=dir_fd)


def _exists(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, root_fd: int, whiteouts: str) -> None:
    parts = clean_name(member.name)
    if not parts:
        return  # the archive's "./" itself
    *parents, base = parts
    if member.ischr() or member.isblk() or member.isfifo():
        raise UnsafeArchive(f"device node or fifo in archive refused: {member.name!r}")
    if base.startswith(WHITEOUT_PREFIX):
        if whiteouts == "skip":
            return
        dir_fd = _open_dir(root_fd, parents, create=True)
        try:
            if base == OPAQUE_MARKER:
                os.setxattr(dir_fd, OPAQUE_XATTR, b"y")
            else:
                hidden = base[len(WHITEOUT_PREFIX):]
                if hidden in ("", ".", "..") or "/" in hidden:
                    raise UnsafeArchive(f"bad whiteout {member.name!r}")
                _remove(dir_fd, hidden)
                os.mknod(hidden, stat.S_IFCHR | 0o600, os.makedev(0, 0), dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
        return
    dir_fd = _open_dir(root_fd, parents, create=True)
    try:
        existing = _exists(dir_fd, base)
        if member.isdir():
            if existing is None or not stat.S_ISDIR(existing.st_mode):
                if existing is not None:
                    _remove(dir_fd, base)
                os.mkdir(base, 0o700, dir_fd=dir_fd)
            fd = os.open(base, _DIR_FLAGS, dir_fd=dir_fd)
            try:
                os.fchown(fd, member.uid, member.gid)
                os.fchmod(fd, member.mode & 0o7777)
            finally:
                os.close(fd)
        elif member.isreg():
            if existing is not None:
                _remove(dir_fd, base)
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=dir_fd)
            try:
                source = tar.extractfile(member)
                assert source is not None
                while chunk := source.read(1 << 20):
                    os.write(fd, chunk)
                os.fchown(fd, member.uid, member.gid)
                os.fchmod(fd, member.mode & 0o7777)  # after chown, which clears setuid bits
            finally:
                os.close(fd)
            os.utime(base, ns=(int(member.mtime * 1e9),) * 2, dir_fd=dir_fd, follow_symlinks=False)
        elif member.issym():
            if existing is not None:
                _remove(dir_fd, base)
            os.symlink(member.linkname, base, dir_fd=dir_fd)
            os.chown(base, member.uid, member.gid, dir_fd=dir_fd, follow_symlinks=False)
        elif member.islnk():
            *link_parents, link_base = clean_name(member.linkname) or [""]
            if not link_base:
                raise UnsafeArchive(f"hard link to the archive root: {member.name!r}")
            src_fd = _open_dir(root_fd, link_parents, create=False)
            try:
                linked = _exists(src_fd, link_base)
                if linked is None or not (stat.S_ISREG(linked.st_mode) or stat.S_ISLNK(linked.st_mode)):
                    raise UnsafeArchive(f"hard link to a missing or special file: {member.linkname!r}")
                if existing is not None:
                    _remove(dir_fd, base)
                os.link(link_base, base, src_dir_fd=src_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            finally:
                os.close(src_fd)
        # other kinds (GNU volume headers...) carry no file
    finally:
        os.close(dir_fd)
