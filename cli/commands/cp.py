"""mydocker cp [-a] [-L] CONTAINER:SRC_PATH DEST_PATH|-
   mydocker cp [-a] [-L] SRC_PATH|- CONTAINER:DEST_PATH"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("cp", "Copy files/folders between a container and the local filesystem",
               usage="%(prog)s [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-")
    p.add_argument("-a", "--archive", action="store_true", help="archive mode (copy all uid/gid information)")
    p.add_argument("-L", "--follow-link", action="store_true", help="always follow symbol link in SRC_PATH")
    p.add_argument("paths", nargs="*", metavar="PATH")
    return p


def _split(arg: str) -> tuple[str | None, str]:
    """docker: CONTAINER:PATH unless the part before ':' looks like a local path."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    ref, _, path = arg.partition(":")
    return ref, path


class Bare(Exception):
    """What docker's CLI prints itself, without its `Error: ` (exit 1)."""


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.core.copy import NoSuchDirectory
    from mydocker.statemachine.errors import UserError

    try:
        return _copy(args, ctx)
    except (Bare, UserError) as exc:
        # archive.ErrDirNotExists comes back from a forked copy as its words only
        if isinstance(exc, UserError) and str(exc) != str(NoSuchDirectory()):
            raise
        from mydocker.cli.errors import one_line

        sys.stderr.write(f"{one_line(exc)}\n")
        return 1


def missing_source(path: str) -> str:
    """docker's CLI words for a host source that is not there: it resolves the
    parent's symlinks first (the lstat of the first missing directory fails),
    then lstats parent + "/" + name (so `//x` for `/x`)."""
    parent, _, base = path.rpartition("/")
    resolved = "/"
    for part in parent.split("/"):
        if not part:
            continue
        candidate = os.path.join(resolved, part)
        if not os.path.lexists(candidate):
            return f"lstat {candidate}: no such file or directory"
        resolved = os.path.realpath(candidate)
    return f"lstat {resolved}/{base}: no such file or directory"


def _copy(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.core import copy
    from mydocker.statemachine.errors import UserError

    if len(args.paths) != 2:
        raise UserError('"cp" requires exactly 2 arguments.')
    (src_ref, src), (dst_ref, dst) = _split(args.paths[0]), _split(args.paths[1])
    if (src_ref is None) == (dst_ref is None):
        raise UsageError("copying between containers is not supported" if src_ref else
                         "must specify at least one container source")
    if src_ref is not None:
        if not src:
            raise UserError(f"No such container:path: {src_ref}:")
        container_path = src if src.startswith("/") else "/" + src

        def out(root_fd: int) -> None:
            try:
                fd, name = copy.open_source(root_fd, container_path, args.follow_link)
            except copy.CopyError:
                raise copy.CopyError(f"No such container:path: {src_ref}:{src}") from None
            try:
                is_dir = os.path.isdir(f"/proc/self/fd/{fd}")
                contents = container_path.endswith("/.")
                if dst == "-":
                    with os.fdopen(1, "wb", closefd=False) as stdout:
                        copy.write_archive(stdout, fd, name, contents, args.archive)
                    return
                host_root = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    _transfer(fd, name, is_dir, contents, host_root, os.path.abspath(dst), False, args.archive)
                finally:
                    os.close(host_root)
            finally:
                os.close(fd)

        sys.stdout.flush()
        _in_container(ctx, src_ref, out, src)
        return 0

    assert dst_ref is not None
    if not dst:
        raise UserError(f"No such container:path: {dst_ref}:")
    container_dest = dst if dst.startswith("/") else "/" + dst
    if src == "-":
        def from_stdin(root_fd: int) -> None:
            dir_fd, rename = copy.plan_destination(root_fd, container_dest, False, "", container_side=True)
            try:
                if rename is not None:
                    raise copy.CopyError(f"destination \"{dst_ref}:{dst}\" must be a directory")
                copy.extract_into(dir_fd, sys.stdin.buffer)
            finally:
                os.close(dir_fd)

        _in_container(ctx, dst_ref, from_stdin, _parent_shown(dst))
        return 0
    host_src = os.path.abspath(src)
    if not os.path.lexists(host_src):
        raise Bare(missing_source(host_src))
    host_root = os.open("/", os.O_PATH | os.O_DIRECTORY)
    try:
        fd, name = copy.open_source(host_root, host_src, args.follow_link)
    except copy.CopyError as exc:
        raise UserError(str(exc)) from None
    finally:
        os.close(host_root)
    is_dir = os.path.isdir(f"/proc/self/fd/{fd}")

    def into(root_fd: int) -> None:
        try:
            _transfer(fd, name, is_dir, src.endswith("/."), root_fd, container_dest, True, args.archive)
        except copy.NoParent:  # docker asks its daemon for the parent, which answers 404
            raise copy.CopyError(f"No such container:path: {dst_ref}:{_parent_shown(dst)}") from None

    # a missing container is a destination that does not exist: docker then wants no trailing /
    missing = "no such directory" if dst.endswith("/") and not is_dir else None
    try:
        _in_container(ctx, dst_ref, into, _parent_shown(dst), missing)
    finally:
        os.close(fd)
    return 0


def _in_container(ctx: Context, ref: str, action: Callable[[int], None], shown: str,
                  missing: str | None = None) -> None:
    """action on the container's root; docker's CLI names a missing container as a
    missing container:path (its daemon answers 404 for both)."""
    from mydocker.statemachine import containerfs
    from mydocker.statemachine.errors import NoSuchContainer, UserError

    try:
        containerfs.with_root(ctx, ref, action)
    except NoSuchContainer:
        raise UserError(missing or f"No such container:path: {ref}:{shown}") from None


def _parent_shown(path: str) -> str:
    """The parent docker's CLI names for a destination: /a for /a/b, / for /tmp, . for x."""
    trimmed = path.rstrip("/")
    if "/" not in trimmed:
        return "/" if path.startswith("/") else "."
    return trimmed.rpartition("/")[0] or "/"


def _transfer(src_fd: int, name: str, is_dir: bool, contents: bool, dest_root: int, dest: str,
              container_side: bool, keep_owner: bool) -> None:
    """Tar the source into a spool file and unpack it at the destination."""
    import tempfile

    from mydocker.core import copy

    dir_fd, rename = copy.plan_destination(dest_root, dest, is_dir, name, container_side)
    try:
        with tempfile.TemporaryFile() as spool:
            if rename is not None:
                # the destination is created as the copy: its new name on top, or,
                # for `dir/.`, the directory itself with the contents inside
                copy.write_archive(spool, src_fd, rename, False, keep_owner)
            else:
                copy.write_archive(spool, src_fd, name, contents, keep_owner)
            spool.seek(0)
            copy.extract_into(dir_fd, spool)
    finally:
        os.close(dir_fd)

