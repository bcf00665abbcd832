"""A build context read in place, and COPY/ADD sources put into a layer.

Sources are resolved with securejoin, so a symlink or `..` in a COPY source
cannot leave the context; symlinks inside copied directories are copied as
symlinks, never followed. .dockerignore'd paths do not exist for COPY.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

from mydocker.core import dockerignore, securejoin


class ContextError(Exception):
    pass


@dataclass
class Source:
    rel: str  # path in the context (or a stage's rootfs), slash separated
    path: str  # resolved host path


class Context:
    """root: the context directory, or a stage's merged view (a list of layers)."""

    def __init__(self, root: str | None, patterns: list[dockerignore.Pattern] | None = None) -> None:
        self.root = os.path.realpath(root) if root else None
        self.patterns = patterns or []

    def resolve(self, rel: str) -> str:
        if self.root is None:
            raise ContextError("no build context: COPY and ADD need one (build with a directory, not -)")
        try:
            return securejoin.resolve(self.root, rel)
        except FileNotFoundError:
            raise ContextError(f"COPY failed: file not found in build context or excluded by .dockerignore: "
                               f"stat {rel.lstrip('/')}: file does not exist") from None
        except OSError as exc:
            raise ContextError(f"COPY failed: {rel}: {exc.strerror or exc}") from None

    def walk(self) -> list[str]:
        """Every path in the context that .dockerignore lets through."""
        assert self.root is not None
        out = []
        for top, dirs, files in os.walk(self.root):
            rel_top = os.path.relpath(top, self.root)
            rel_top = "" if rel_top == "." else rel_top + "/"
            for name in sorted(dirs + files):
                rel = rel_top + name
                if not dockerignore.excluded(self.patterns, rel):
                    out.append(rel)
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(top, d))]
        return out

    def sources(self, pattern: str) -> list[Source]:
        """The context paths a COPY source names (globs allowed)."""
        clean = os.path.normpath("/" + pattern).lstrip("/") or "."
        if clean == ".":
            return [Source(".", self.resolve("."))]
        if not any(c in clean for c in "*?["):
            if dockerignore.excluded(self.patterns, clean):
                raise ContextError(f"COPY failed: file not found in build context or excluded by .dockerignore: "
                                   f"stat {clean}: file does not exist")
            return [Source(clean, self.resolve(clean))]
        assert self.root is not None
        regex = dockerignore.compile_glob(clean)
        found = [rel for rel in self.walk() if regex.match(rel)]
        # a matched directory is copied whole: its matched children would repeat it
        kept = [r for r in found if not any(r.startswith(o + "/") for o in found if o != r)]
        if not kept:
            raise ContextError(f"COPY failed: no source files were specified: {pattern}")
        return [Source(r, self.resolve(r)) for r in kept]


def _tree(path: str, rel: str, patterns: list[dockerignore.Pattern], base: str | None) -> list[tuple[str, str]]:
    out = [(rel, path)]
    if os.path.isdir(path) and not os.path.islink(path):
        for top, dirs, files in os.walk(path):
            links = [d for d in dirs if os.path.islink(os.path.join(top, d))]
            files.extend(links)  # a symlink to a directory is copied as a link, never entered
            dirs[:] = sorted(d for d in dirs if d not in links)
            for name in sorted(dirs + files):
                full = os.path.join(top, name)
                sub = os.path.relpath(full, base) if base else full
                if base and dockerignore.excluded(patterns, sub):
                    if name in dirs:
                        dirs.remove(name)
                    continue
                out.append((rel + "/" + os.path.relpath(full, path), full))
    return out


def copy_into(staging: Path, sources: list[Source], dest: str, owner: tuple[int, int] | None,
              patterns: list[dockerignore.Pattern], base: str | None, extract_tars: bool,
              dest_is_dir: bool) -> None:
    """Lay out the sources at dest inside staging, with docker's COPY semantics:
    a directory's contents (not itself) land in dest; files land in dest/ when
    dest is a directory (trailing slash, several sources, or one already)."""
    uid, gid = owner if owner else (0, 0)
    for src in sources:
        st = os.stat(src.path)
        if stat.S_ISDIR(st.st_mode):
            target = _make_dirs(staging, dest)
            for rel, path in _tree(src.path, ".", patterns, base)[1:]:
                _copy_one(path, target / rel, uid, gid)
            if owner:
                os.lchown(target, uid, gid)
        elif extract_tars and _is_archive(src.path):
            from mydocker.core import safetar

            target = _make_dirs(staging, dest)
            with open(src.path, "rb") as f:
                safetar.extract(f, target, whiteouts="skip")
        else:
            if dest_is_dir:
                target = _make_dirs(staging, dest) / os.path.basename(src.rel)
            else:
                target = _make_dirs(staging, os.path.dirname(dest)) / os.path.basename(dest)
            _copy_one(src.path, target, uid, gid, follow=True)


def _is_archive(path: str) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _make_dirs(staging: Path, dest: str) -> Path:
    target = staging
    for part in [p for p in dest.split("/") if p]:
        target = target / part
        if not target.exists():
            target.mkdir(mode=0o755)
    return target


def _copy_one(path: str, target: Path, uid: int, gid: int, follow: bool = False) -> None:
    st = os.stat(path) if follow else os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(path), target)
    elif stat.S_ISDIR(st.st_mode):
        target.mkdir(exist_ok=True)
        os.chmod(target, stat.S_IMODE(st.st_mode))
    elif stat.S_ISREG(st.st_mode):
        shutil.copyfile(path, target, follow_symlinks=True)
        os.chmod(target, stat.S_IMODE(st.st_mode))
    else:
        return  # sockets, fifos, devices: not part of what COPY carries
    os.lchown(target, uid, gid)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
