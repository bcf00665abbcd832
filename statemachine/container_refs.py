"""Flags that name another container: --volumes-from, --ipc container:X,
--pid container:X and --network container:X. At create the names become ids
(docker records `container:<id>`, so a later rename of the donor changes
nothing) and the donor's mounts are copied; at start the donor's namespaces are
opened, with docker's words when it cannot lend them."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mydocker.core import nsenter, procinfo
from mydocker.statemachine import queries
from mydocker.statemachine.errors import InvalidArgument, UserError
from mydocker.statemachine.machine import alive
from mydocker.statemachine.volumes import VolumeRequest

if TYPE_CHECKING:
    import sqlite3

    from mydocker.statemachine.create_options import CreateOptions

CONTAINER_MODE = "container:"
VOLUMES_FROM_MODES = {"ro", "rw", "z", "Z"}


def resolve(conn: sqlite3.Connection, opts: CreateOptions) -> CreateOptions:
    """opts with the donors' mounts added and container:NAME as container:ID."""
    spec_extra = dict(opts.spec_extra)
    for key in ("ipc", "pid_mode"):
        mode = spec_extra.get(key) or ""
        if mode.startswith(CONTAINER_MODE):
            spec_extra[key] = CONTAINER_MODE + queries.get(conn, mode[len(CONTAINER_MODE):]).id
    opts = _resolve_network(conn, opts)
    volumes_from = (opts.config_extra or {}).get("volumes_from") or []
    if not volumes_from and spec_extra == opts.spec_extra:
        return opts
    return replace(opts, spec_extra=spec_extra, volumes=[*borrowed_mounts(conn, volumes_from, opts.volumes),
                                                         *opts.volumes])


def _resolve_network(conn: sqlite3.Connection, opts: CreateOptions) -> CreateOptions:
    """--network container:NAME -> container:ID, with the donor's hostname and
    domainname (docker gives the joiner X's, and its UTS names must match the
    /etc/hostname it shares). A donor that does not exist yet is docker's
    problem at start, not at create: the name stays as given."""
    if not opts.network.startswith(CONTAINER_MODE):
        return opts
    ref = opts.network[len(CONTAINER_MODE):]
    if not ref:
        raise InvalidArgument("Invalid network mode: invalid container format container:<name|id>")
    donor = queries.find(conn, ref)
    if donor is None:
        return opts
    spec = donor.config["spec"]
    return replace(opts, network=CONTAINER_MODE + donor.id, hostname=spec.get("hostname"),
                   spec_extra={**opts.spec_extra, "domainname": spec.get("domainname", "")})


def network_donor(spec: dict[str, Any]) -> str | None:
    """The id (or unresolved name) of the container whose netns this one joins."""
    mode = spec.get("network") or ""
    return mode[len(CONTAINER_MODE):] if mode.startswith(CONTAINER_MODE) else None


def split_volumes_from(text: str) -> tuple[str, str]:
    """NAME[:MODE] -> (name, mode); ValueError with docker's words for a bad mode."""
    name, _, mode = text.partition(":")
    modes = set(mode.split(",")) if mode else set()
    if not modes <= VOLUMES_FROM_MODES or {"ro", "rw"} <= modes:
        raise ValueError(f"invalid mode: {mode}")
    return name, mode


def borrowed_mounts(conn: sqlite3.Connection, volumes_from: list[str],
                    own: list[VolumeRequest]) -> list[VolumeRequest]:
    """The donors' volumes, binds and tmpfs at the same destinations, as docker's
    registerMountPoints: `:ro` makes them read-only, otherwise each keeps its mode;
    a destination the container mounts itself is its own (no duplicate error)."""
    taken = {os.path.normpath(r.destination) for r in own}
    out: list[VolumeRequest] = []
    for text in volumes_from:
        name, mode = split_volumes_from(text)
        donor = queries.get(conn, name)
        readonly = "ro" in mode.split(",")
        for m in donor.config["spec"].get("mounts", []):
            if m["destination"] in taken:
                continue
            taken.add(m["destination"])
            ro = readonly or bool(m.get("readonly"))
            if m.get("type") == "volume":
                out.append(VolumeRequest(m["destination"], m["name"], "volume", ro))
            elif m.get("type") == "bind":
                out.append(VolumeRequest(m["destination"], m["source"], "bind", ro))
            elif m.get("type") == "tmpfs":
                out.append(VolumeRequest(m["destination"], "", "tmpfs", ro, m.get("options", "")))
    return out


def open_joins(conn: sqlite3.Connection, spec: dict[str, Any]) -> dict[str, int]:
    """fds of the namespaces a starting container joins ({"ipc": fd, "shm": fd of the
    donor's mount namespace, "pid": fd});
    UserError (docker's words) if a donor cannot lend them. The caller closes them."""
    fds: dict[str, int] = {}
    try:
        for ns, key in (("ipc", "ipc"), ("pid", "pid_mode"), ("net", "network")):
            mode = spec.get(key) or ""
            if mode.startswith(CONTAINER_MODE):
                fds.update(_open_donor(conn, ns, mode[len(CONTAINER_MODE):]))
    except BaseException:
        nsenter.close_all(fds)
        raise
    return fds


def _open_donor(conn: sqlite3.Connection, ns: str, donor_id: str) -> dict[str, int]:
    prefix = f"can't join IPC of container {donor_id}: " if ns == "ipc" else ""
    # by id, or by the name a create could not resolve yet (docker's, too)
    donor = queries.by_id(conn, donor_id) or (queries.find(conn, donor_id) if ns == "net" else None)
    if donor is None:
        raise UserError(f"{prefix}No such container: {donor_id}")
    pid, pid_start = donor.row["pid"], donor.row["pid_start"]
    not_running = (f"cannot join network of a non running container: {donor.id}" if ns == "net"
                   else f"{prefix}container {donor_id} is not running")
    if not alive(donor) or not procinfo.is_same_process(pid, pid_start):
        raise UserError(not_running)
    if ns == "ipc" and (donor.config["spec"].get("ipc") or "private") not in ("shareable", "host"):
        raise UserError(f"{prefix}non-shareable IPC (hint: use IpcMode:shareable for the donor container)")
    try:
        if ns in ("pid", "net"):
            return {ns: nsenter.open_namespace(pid, pid_start, ns)}
        # and its mount namespace, where the init finds the /dev/shm it shares
        fds = nsenter.open_namespaces(pid, pid_start, ("ipc", "mnt"))
        return {"ipc": fds["ipc"], "shm": fds["mnt"]}
    except nsenter.ExecError:
        raise UserError(not_running) from None
