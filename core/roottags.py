"""Which state root a host object belongs to, and whether that root still exists.

Every host object a root makes (bridge, veth, iptables rule, cgroup) carries the
root's tag: six hex digits of a checksum of its absolute path. A tag cannot be
turned back into a path, so the first time a root is used it writes its path to
a host-wide registry, /run/mydocker/roots/<tag> (one path a line: two roots
whose tags collide both stay listed). The registry lives on /run for the same
reason the objects do not survive a reboot: both start empty together.

A tag is *gone* when every root listed for it has lost its database: only then
may what carries the tag be removed by someone other than its root. A tag that
no registry line explains is *unknown* and never touched.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

HOST_DIR = Path("/run/mydocker")
REGISTRY = HOST_DIR / "roots"
DB_NAME = "mydocker.db"  # store.db's name; core may not import store
TAG_LEN = 6

LIVE, GONE, UNKNOWN = "live", "gone", "unknown"


def tag_of(root: str | Path) -> str:
    """A checksum, not a digest: hashlib would load OpenSSL on every run."""
    return f"{zlib.crc32(os.path.abspath(root).encode()):08x}"[:TAG_LEN]


def host_dir() -> Path:
    """/run/mydocker, made on first use: the registry and host-wide locks live there."""
    HOST_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    return HOST_DIR


def is_tag(text: str) -> bool:
    return len(text) == TAG_LEN and all(c in "0123456789abcdef" for c in text)


def register(root: str | Path, registry: Path = REGISTRY) -> None:
    """Record root under its tag; a no-op (one read) once it is there."""
    path = os.path.abspath(root)
    if "\n" in path:
        return  # one path a line: such a root stays unknown, so nobody else ever removes its objects
    entry = registry / tag_of(path)
    if path in _read(entry):
        return
    registry.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_APPEND writes of one short line are atomic: two racing roots both land.
    fd = os.open(entry, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, (path + "\n").encode())
    finally:
        os.close(fd)


def unregister(root: str | Path, registry: Path = REGISTRY) -> None:
    """Forget root (after `system reset` removed it); other roots of its tag stay."""
    path = os.path.abspath(root)
    entry = registry / tag_of(path)
    rest = [p for p in _read(entry) if p != path]
    if rest:
        tmp = entry.with_suffix(".tmp")
        tmp.write_text("".join(p + "\n" for p in rest))
        tmp.replace(entry)
    else:
        entry.unlink(missing_ok=True)


def roots_of(tag: str, registry: Path = REGISTRY) -> list[str]:
    return _read(registry / tag) if is_tag(tag) else []


def exists(root: str) -> bool:
    return os.path.exists(os.path.join(root, DB_NAME))


def status(tag: str, registry: Path = REGISTRY) -> str:
    roots = roots_of(tag, registry)
    if not roots:
        return UNKNOWN
    return LIVE if any(exists(r) for r in roots) else GONE


def forget_gone(tag: str, registry: Path = REGISTRY) -> None:
    """Drop a gone tag's registry entry once nothing of it is left on the host."""
    if status(tag, registry) == GONE:
        (registry / tag).unlink(missing_ok=True)


def _read(entry: Path) -> list[str]:
    try:
        return [line for line in entry.read_text().splitlines() if line]
    except FileNotFoundError:
        return []


def processes_of(root: str, proc: Path = Path("/proc")) -> list[int]:
    """Pids of mydocker processes working on root: commands (`--root R`, or
    MYDOCKER_ROOT), monitors forked from them or waiting (`python -I -S
    .../waiter.py R ...`), watchers (`... watcher R ...`).
    Never this process or its ancestors."""
    root = os.path.abspath(root)
    spared = _ancestors(proc)
    found = []
    for entry in proc.iterdir() if proc.is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) in spared:
            continue
        try:
            argv = [a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue
        if _is_cli(argv):
            if _root_of(entry, argv) == root:
                found.append(int(entry.name))
        elif any(a.startswith("mydocker.") for a in argv[1:3]) and root in argv:  # python -m mydocker.x ROOT
            found.append(int(entry.name))
        elif any(a.endswith("/mydocker/core/waiter.py") for a in argv[1:4]) and root in argv:  # a monitor, waiting
            found.append(int(entry.name))
    return found


def _is_cli(argv: list[str]) -> bool:
    """`mydocker ...` or `python .../mydocker ...`."""
    return any(os.path.basename(a) == "mydocker" for a in argv[:2])


def _root_of(entry: Path, argv: list[str]) -> str | None:
    """The root a `mydocker [--root R] ...` command line works on."""
    given = None
    for i, arg in enumerate(argv):
        if arg in ("--root", "-root") and i + 1 < len(argv):
            given = argv[i + 1]
            break
        if arg.startswith("--root="):
            given = arg.split("=", 1)[1]
            break
    if given is None:
        try:
            env = dict(item.split(b"=", 1) for item in (entry / "environ").read_bytes().split(b"\0") if b"=" in item)
        except OSError:
            return None
        given = env.get(b"MYDOCKER_ROOT", b"/var/lib/mydocker").decode(errors="replace")
    if not os.path.isabs(given):
        try:
            given = os.path.join(os.readlink(entry / "cwd"), given)
        except OSError:
            return None
    return os.path.normpath(given)


def _ancestors(proc: Path) -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            stat = (proc / str(pid) / "stat").read_bytes()
            pid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError):
            break
    return pids | {1}
