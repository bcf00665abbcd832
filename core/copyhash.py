"""The checksum docker's classic builder gives COPY/ADD sources, as its history
shows it (`COPY file:<hex> in /dest `) and its cache keys on it.

Each path is hashed as tarsum v1 hashes a tar entry: the header fields name
(relative to the context, a directory's with a trailing slash), mode (st_mode,
type bits included), uid, gid, size, typeflag, linkname, uname, gname, devmajor,
devminor (no mtime; docker 20.10 leaves uname/gname empty), then the content.
A symlink is followed inside the context and hashed as its target (named by
the target's path); a dangling one hashes as its own path string. A directory
is `dir:` + sha256 of its entries' sorted hashes joined by commas (itself
included); several sources are `multi:` + the same over their hashes. Files in
a build context count as uid/gid 0: the docker CLI sends the context so.
"""

from __future__ import annotations

import hashlib
import os
import stat

from mydocker.core import dockerignore

_MAX_LINKS = 255


def checksum(paths: list[str], root: str, patterns: list[dockerignore.Pattern], context_owned: bool) -> str:
    """paths: the sources, as paths relative to root (the context, or a stage's tree)."""
    hashes = [_source(rel, root, patterns, context_owned) for rel in paths]
    if len(hashes) == 1:
        return hashes[0]
    return "multi:" + _join(hashes)


def _join(hashes: list[str]) -> str:
    return hashlib.sha256(",".join(hashes).encode()).hexdigest()


def _source(rel: str, root: str, patterns: list[dockerignore.Pattern], context_owned: bool) -> str:
    resolved = _resolve(root, rel)
    full = os.path.join(root, resolved)
    if not os.path.isdir(full) or os.path.islink(full):
        return "file:" + _entry(root, rel, context_owned)
    subs = []
    for top, dirs, files in os.walk(full):
        linked = [d for d in dirs if os.path.islink(os.path.join(top, d))]  # hashed, never entered
        dirs[:] = [d for d in dirs if d not in linked]
        for name in [*dirs, *files, *linked]:
            sub = os.path.relpath(os.path.join(top, name), root)
            if patterns and dockerignore.excluded(patterns, sub):
                if name in dirs:
                    dirs.remove(name)
                continue
            subs.append(_entry(root, sub, context_owned))
    if resolved:  # `COPY . /x`: docker's walk leaves the context's root out
        subs.append(_entry(root, resolved, context_owned))
    return "dir:" + _join(sorted(subs))


def _resolve(root: str, rel: str) -> str:
    """rel with its symlinks followed, never above root (docker's FollowSymlinkInScope)."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    done: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = os.path.join(root, *done, part)
        if os.path.islink(candidate):
            hops += 1
            if hops > _MAX_LINKS:
                return "/".join([*done, part, *parts])
            target = os.readlink(candidate)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        done.append(part)
    return "/".join(done)


def _entry(root: str, rel: str, context_owned: bool) -> str:
    resolved = _resolve(root, rel)
    path = os.path.join(root, resolved)
    try:
        st = os.lstat(path)
    except OSError:
        return rel  # docker: "a missing file returns a path as hash" (a dangling symlink)
    mode = st.st_mode
    size, flag, link = 0, "", ""
    if stat.S_ISREG(mode):
        size, flag = st.st_size, "0"
    elif stat.S_ISDIR(mode):
        flag = "5"
    elif stat.S_ISFIFO(mode):
        flag = "6"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        flag = "3" if stat.S_ISCHR(mode) else "4"
    major = os.major(st.st_rdev) if flag in ("3", "4") else 0
    minor = os.minor(st.st_rdev) if flag in ("3", "4") else 0
    name = resolved + "/" if stat.S_ISDIR(mode) else resolved
    uid, gid = (0, 0) if context_owned else (st.st_uid, st.st_gid)
    h = hashlib.sha256()
    for key, value in (("name", name), ("mode", mode), ("uid", uid), ("gid", gid), ("size", size),
                       ("typeflag", flag), ("linkname", link), ("uname", ""), ("gname", ""),
                       ("devmajor", major), ("devminor", minor)):
        h.update(f"{key}{value}".encode())
    if stat.S_ISREG(mode) and size:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    return h.hexdigest()
