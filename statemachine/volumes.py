"""Volumes: `-v` specs, named and anonymous volumes as streams in the log.

A volume's stream has `create` and `destroy` events; the `volumes` projection
holds the live ones. Which containers use a volume is read from the containers
projection (spec.mounts), so "in use" can never disagree with the containers.

The local driver's options (`volume create -o type=tmpfs -o device=tmpfs`) are
in the `create` event's payload, read back by joining the row to that event
(a volume's stream has no other event while it lives, so the row's version is
its create's); statemachine.volume_mounts mounts such a volume's device while
containers use it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from mydocker.core import locks
from mydocker.core import volumes as core_volumes
from mydocker.statemachine import naming
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import Conflict, InvalidArgument, NotFound, UserError
from mydocker.store.events import ConcurrencyError, Event, append, stream_version

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
MODES = {"ro", "rw", "z", "Z", "rprivate", "private", "nocopy"}


class NoSuchVolume(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"get {name}: no such volume")


@dataclass
class VolumeRequest:
    """One `-v` as the user wrote it."""

    destination: str
    source: str = ""  # host path (bind), volume name, or "" (anonymous)
    kind: str = "volume"  # bind | volume | tmpfs
    readonly: bool = False
    options: str = ""  # tmpfs mount options


def parse(text: str) -> VolumeRequest:
    """docker's -v syntax: HOST:CTR[:MODE], NAME:CTR[:MODE] or CTR. ValueError if bad."""
    if not text:
        raise ValueError("invalid empty volume spec")
    parts = text.split(":")
    if len(parts) > 1 and "" in parts:
        raise ValueError(f"invalid spec: {text}: empty section between colons")
    if len(parts) == 1:
        source, destination, mode = "", parts[0], ""
    elif len(parts) == 2:
        source, destination, mode = parts[0], parts[1], ""
    elif len(parts) == 3:
        source, destination, mode = parts
    else:
        raise ValueError(f"invalid volume specification: '{text}'")
    modes = set(filter(None, mode.split(",")))
    if not modes <= MODES or {"ro", "rw"} <= modes:
        raise ValueError(f"invalid mode: {mode}")
    if not destination.startswith("/"):
        raise ValueError(f"invalid volume specification: '{text}': the mount destination must be an absolute path")
    if os.path.normpath(destination) == "/":
        raise ValueError(f"invalid volume specification: '{text}': destination can't be '/'")
    kind = "volume"
    if source.startswith(("/", ".")):
        kind, source = "bind", os.path.abspath(source)
    elif source and not NAME_RE.match(source):
        raise ValueError(f'"{source}" includes invalid characters for a local volume name, '
                         "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return VolumeRequest(os.path.normpath(destination), source, kind, "ro" in modes)


def plan_mounts(ctx: Context, requests: list[VolumeRequest]) -> list[dict[str, Any]]:
    """The spec's mounts; named volumes are created on first use, as docker does."""
    seen: set[str] = set()
    for request in requests:
        if request.destination in seen:
            raise InvalidArgument(f"Duplicate mount point: {request.destination}")
        seen.add(request.destination)
    mounts = []
    for request in requests:
        if request.kind == "bind":
            mounts.append({"type": "bind", "source": request.source, "destination": request.destination,
                           "readonly": request.readonly, "name": "", "anonymous": False})
            continue
        if request.kind == "tmpfs":
            mounts.append({"type": "tmpfs", "source": "tmpfs", "destination": request.destination,
                           "readonly": request.readonly, "name": "", "anonymous": False,
                           "options": request.options})
            continue
        anonymous = not request.source
        name = request.source or naming.new_id()
        row = ensure(ctx, name, anonymous=anonymous)
        mounts.append({"type": "volume", "source": row["mountpoint"], "destination": request.destination,
                       "readonly": request.readonly, "name": name, "anonymous": anonymous})
    return mounts


# the row and its create event's options (JSON text, NULL when it had none)
_WITH_OPTIONS = ("SELECT v.*, json_extract(e.payload, '$.options') AS options FROM volumes v"
                 " LEFT JOIN events e ON e.stream_id = v.id AND e.version = v.version")


def find(conn: sqlite3.Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(f"{_WITH_OPTIONS} WHERE v.id = ?", (name,)).fetchone()
    return dict(row) if row else None


def list_all(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(f"{_WITH_OPTIONS} ORDER BY v.id")]


def options_of(row: dict[str, Any]) -> dict[str, str] | None:
    return json.loads(row["options"]) if row.get("options") is not None else None


def users(conn: sqlite3.Connection, name: str) -> list[str]:
    """Ids of the containers (any state but removed) that mount this volume."""
    rows = conn.execute(
        "SELECT DISTINCT containers.id FROM containers, json_each(containers.config, '$.spec.mounts') AS m"
        " WHERE json_extract(m.value, '$.name') = ? ORDER BY containers.id", (name,))
    return [r[0] for r in rows]


def ensure(ctx: Context, name: str, anonymous: bool = False, labels: dict[str, str] | None = None,
           options: dict[str, str] | None = None) -> dict[str, Any]:
    """The volume `name`, created (directory, then `create` event) if missing;
    one that exists is returned as it is, whatever options were asked (docker 20.10).

    options: the local driver's (check_options); None, not {}, when nobody gave
    any (docker's inspect says null then, {} for a CLI create without -o)."""
    if not NAME_RE.match(name):
        raise InvalidArgument(f'"{name}" includes invalid characters for a local volume name, '
                        "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    if options:
        check_options(name, options)
    ctx.conn  # noqa: B018 - opening the database makes a fresh root, where the lock file goes
    with locks.hold(ctx.root, f"volume-{name}"):
        found = find(ctx.conn, name)
        if found:
            return found
        mountpoint = core_volumes.make(ctx.root, name)
        payload = {"driver": "local", "mountpoint": str(mountpoint), "anonymous": anonymous,
                   "labels": labels or {}}
        if options is not None:
            payload["options"] = dict(options)
        try:
            append(ctx.conn, "volume", name, stream_version(ctx.conn, name),
                   [Event("create", payload, ctx.actor())])
        except ConcurrencyError:
            pass  # created by a racing command that did not take the lock (none do): reread
        found = find(ctx.conn, name)
        assert found is not None
        return found


def remove(ctx: Context, name: str, force: bool = False) -> None:
    """Refused while a container uses it; the data goes with it."""
    with locks.hold(ctx.root, f"volume-{name}"):
        row = find(ctx.conn, name)
        if row is None:
            if force:
                return
            raise NoSuchVolume(name)
        holders = users(ctx.conn, name)
        if holders:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(holders)}]")
        if needs_mount(options_of(row)):
            core_volumes.unmount(ctx.root, name)  # one a crash left: before the log says it is gone
        append(ctx.conn, "volume", name, row["version"],
               [Event("destroy", {"mountpoint": row["mountpoint"]}, ctx.actor())])
        core_volumes.remove(ctx.root, name)
    locks.forget(ctx.root, f"volume-{name}")


def remove_anonymous(ctx: Context, mounts: list[dict[str, Any]]) -> None:
    """`rm -v` / `run --rm`: the container's anonymous volumes, if nobody else uses them."""
    for mount in mounts:
        if mount.get("anonymous") and mount.get("name"):
            try:
                remove(ctx, mount["name"])
            except UserError:
                pass  # still used by another container (--volumes-from style): keep it


def inspect(row: dict[str, Any]) -> dict[str, Any]:
    """docker volume inspect's shape."""
    labels = json.loads(row["labels"])
    return {
        "CreatedAt": row["created_at"],
        "Driver": row["driver"],
        # docker's CLI sends its labels map with its options map, even empty: {} then, null for -v volumes
        "Labels": labels or ({} if options_of(row) is not None else None),
        "Mountpoint": row["mountpoint"],
        "Name": row["id"],
        "Options": options_of(row),
        "Scope": "local",
        "Anonymous": bool(row["anonymous"]),
    }


# --- the local driver's options ---------------------------------------------------

VALID_OPTIONS = ("type", "device", "o", "size")
# an option -> what must come with it (docker's mandatoryOpts; checked in this order)
REQUIRED = (("device", ("type",)), ("type", ("device",)), ("o", ("device", "type")))


class InvalidOption(UserError):
    """docker's local driver refuses the options: a daemon error (exit 1, HTTP 400)."""


def parse_options(texts: list[str]) -> dict[str, str]:
    """`-o KEY=VALUE` as docker's CLI reads it: a later key wins, no `=` is an empty value."""
    options: dict[str, str] = {}
    for text in texts:
        key, _, value = text.partition("=")
        options[key] = value
    return options


def check_options(name: str, options: dict[str, str]) -> None:
    """docker 20.10's local driver: only type, device, o (and size, which needs
    quotas this runtime does not keep); device and type go together, o needs both."""
    for key in options:
        if key not in VALID_OPTIONS:
            raise InvalidOption(f'create {name}: invalid option: "{key}"')
    if "size" in options:
        raise InvalidOption(f"create {name}: quota size requested but no quota support")
    for key, needed in REQUIRED:
        for other in needed:
            if key in options and other not in options:
                raise InvalidOption(f'create {name}: missing required option: "{other}"')


def needs_mount(options: dict[str, str] | None) -> bool:
    """Has the volume a device to mount while in use (statemachine.volume_mounts)?"""
    return bool(options and (options.get("type") or options.get("device")))
