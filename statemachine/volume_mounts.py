"""The devices of `volume create -o` volumes (a tmpfs, a bind of a host directory,
any type mount(2) takes), as docker's local driver mounts them: on the volume's
_data on the host when the first container using it starts, shared by every
running user, unmounted when the last of them goes.

The mount is kernel state; which containers run with the volume is the log's,
and that alone decides. Each decision is taken under the volume's lock.
Reconcile (every reading command) calls unmount_unused(), so a crash between a
mount and its record, or a death and its release, leaves no mount behind; this
module is light for that reason (core.volumes and the volume rows load only
where a volume has a device).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from mydocker.core import locks
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import UserError

ALIVE = ("running", "paused")  # machine.ALIVE, whose module a reading command does not load


class MountFailed(UserError):
    """A volume's device could not be mounted when a container using it started."""


def _device_rows(conn: sqlite3.Connection, mounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the named volumes in a container's mounts that carry a device to mount."""
    names = sorted({m["name"] for m in mounts if m.get("type") == "volume" and m.get("name")})
    if not names:
        return []
    from mydocker.statemachine import volumes

    rows = [volumes.find(conn, name) for name in names]
    return [row for row in rows if row is not None and volumes.needs_mount(volumes.options_of(row))]


def running_users(conn: sqlite3.Connection, name: str, besides: str = "") -> list[str]:
    """Containers with a live init (running, paused) that mount this volume, but `besides`."""
    rows = conn.execute(
        "SELECT DISTINCT c.id FROM containers c, json_each(c.config, '$.spec.mounts') AS m"
        f" WHERE json_extract(m.value, '$.name') = ? AND c.id != ? AND c.state IN ({', '.join('?' * len(ALIVE))})",
        (name, besides, *ALIVE))
    return [r[0] for r in rows]


@contextmanager
def mounted_for(ctx: Context, mounts: list[dict[str, Any]]) -> Iterator[None]:
    """Around a container's launch: its volumes' devices mounted (once for all their
    users), the volumes' locks held until its `start` is in the log, so no release
    of another user unmounts in between; what ends up with no running user (a
    launch that failed) is unmounted again on the way out."""
    rows = _device_rows(ctx.conn, mounts)
    if not rows:
        yield
        return
    from mydocker.core import volumes as core_volumes

    with ExitStack() as held:
        for row in rows:  # sorted by name: two launches take them in the same order
            held.enter_context(locks.hold(ctx.root, f"volume-{row['id']}"))
        try:
            for row in rows:
                _mount(ctx.root, row)
            yield
        finally:
            for row in rows:
                if not running_users(ctx.conn, row["id"]):
                    core_volumes.unmount(ctx.root, row["id"])


def _mount(root: str, row: dict[str, Any]) -> None:
    from mydocker.core import volumes as core_volumes
    from mydocker.statemachine.volumes import options_of

    if core_volumes.is_mounted(root, row["id"]):
        return  # a running user has it mounted: share it
    options = options_of(row) or {}
    try:
        core_volumes.mount(root, row["id"], options.get("type", ""), options.get("device", ""), options.get("o", ""))
    except core_volumes.MountError as exc:
        raise MountFailed(f"error while mounting volume '{row['mountpoint']}': "
                          f"failed to mount local volume: {exc}") from None


def release(ctx: Context, container_id: str, mounts: list[dict[str, Any]]) -> None:
    """A container no longer runs: unmount its volumes' devices that no other
    running container uses (idempotent: not mounted is done)."""
    rows = _device_rows(ctx.conn, mounts)
    if not rows:
        return
    from mydocker.core import volumes as core_volumes

    for row in rows:
        with locks.hold(ctx.root, f"volume-{row['id']}"):
            if not running_users(ctx.conn, row["id"], besides=container_id):
                core_volumes.unmount(ctx.root, row["id"])


def _device_volumes(conn: sqlite3.Connection) -> list[str]:
    """Names of the volumes with a device to mount (one query; none is the common case).
    CROSS JOIN keeps volumes the outer loop: with a plain JOIN SQLite's planner scans the
    whole log (json_extract on every payload) when there are few volumes, every command."""
    return [r[0] for r in conn.execute(
        "SELECT v.id FROM volumes v CROSS JOIN events e ON e.stream_id = v.id AND e.version = v.version"
        " WHERE json_extract(e.payload, '$.options.type') != '' OR json_extract(e.payload, '$.options.device') != ''")]


def in_use(root: str, conn: sqlite3.Connection) -> set[str]:
    """The _data mount points that a running container accounts for (system check's
    leak list leaves them out)."""
    from mydocker.core import volumes as core_volumes

    return {str(core_volumes.data_dir(root, name)) for name in _device_volumes(conn) if running_users(conn, name)}


def unmount_unused(root: str, conn: sqlite3.Connection) -> list[str]:
    """Recovery: the volume mounts that no running container uses are unmounted;
    a volume whose lock is held is being worked on (a launch, a release) and is
    left to that command."""
    names = _device_volumes(conn)
    if not names:
        return []
    from mydocker.core import volumes as core_volumes

    mounted = core_volumes.mounted_names(root)
    done = []
    for name in names:
        if name not in mounted or running_users(conn, name):
            continue
        fd = os.open(locks.lock_path(root, f"volume-{name}"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not running_users(conn, name):
                core_volumes.unmount(root, name)
                done.append(name)
        except BlockingIOError:
            pass
        finally:
            os.close(fd)
    return done
