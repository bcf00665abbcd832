"""The lifecycle service: load -> check the transition -> side effects -> append.

Every command on an existing container holds that container's lock, so two
commands serialize and the second sees the first's result before it decides.
The one writer that does not take the lock is the monitor recording `start` and
`die`: it appends with optimistic concurrency and re-checks on conflict.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mydocker.core import cgroups, locks, procinfo
from mydocker.core.crashpoints import crash
from mydocker.core.spec import ContainerSpec, container_dir
from mydocker.statemachine import aggregate as aggregates
from mydocker.statemachine import naming, queries, volumes
from mydocker.statemachine.context import Context
from mydocker.statemachine.create_options import CreateOptions  # also reached as lifecycle.CreateOptions
from mydocker.statemachine.errors import Conflict, InvalidArgument, NoSuchImage, NotFound
from mydocker.statemachine.machine import Container, alive
from mydocker.statemachine.monitorhooks import effects_for
from mydocker.statemachine.queries import ContainerView
from mydocker.store.events import Event, NameConflict, append

if TYPE_CHECKING:
    from mydocker.core import monitor

# Imported where used, not here: networks (pyroute2's helpers), the image store
# and the rootfs code cost `rm` and `stop` time they do not need.

DEFAULT_ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def create(ctx: Context, opts: CreateOptions) -> ContainerView:
    from mydocker.core.images import layer_path
    from mydocker.core.rootfs import device_rules
    from mydocker.statemachine import container_refs, images, networks

    try:
        image = images.resolve(ctx, opts.image)
    except NoSuchImage:
        raise NotFound(f"Unable to find image '{images.normalize(opts.image)}' locally") from None
    image_cfg = image.config.get("config", {})
    opts = container_refs.resolve(ctx.conn, opts)  # --volumes-from, --ipc/--pid container:NAME
    name = naming.check_name(opts.name) if opts.name else None
    entrypoint = opts.entrypoint if opts.entrypoint is not None else (image_cfg.get("Entrypoint") or [])
    cmd = opts.command or ([] if opts.entrypoint is not None else (image_cfg.get("Cmd") or []))
    argv = list(entrypoint) + list(cmd)
    if not argv:
        raise InvalidArgument("No command specified")
    cid = naming.new_id()
    network = networks.resolve_for_container(ctx, opts.network, opts.ip, opts.ports, cid)
    config_extra = networks.check_extras(ctx, network, opts.config_extra)
    hostname = opts.hostname or cid[:12]
    spec = ContainerSpec(
        id=cid,
        root=os.path.abspath(ctx.root),
        argv=argv,
        env=_environment(image_cfg.get("Env") or [], hostname, opts),
        hostname=hostname,
        workdir=opts.workdir or image_cfg.get("WorkingDir") or "/",
        layers=[str(layer_path(os.path.abspath(ctx.root), layer)) for layer in image.layers],
        cgroups=cgroups.plan(cid, opts.cgroup_parent, tag=ctx.tag),
        limits=replace(opts.limits, devices=None if opts.security.get("privileged") else device_rules(opts.devices)),
        tty=opts.tty,
        interactive=opts.interactive,
        network=network["name"],
        mounts=volumes.plan_mounts(ctx, opts.volumes),
        security=opts.security,
        user=opts.user or image_cfg.get("User") or "",
        readonly_rootfs=opts.readonly_rootfs,
        devices=opts.devices,
        init=opts.init,
        cgroupns=opts.cgroupns,
        **opts.spec_extra,
    )
    config = {
        "spec": spec.to_dict(),
        "image_ref": opts.image,
        "entrypoint": entrypoint,
        "cmd": cmd,
        "autoremove": opts.autoremove,
        "cgroup_parent": opts.cgroup_parent,
        "directory": str(container_dir(spec.root, cid)),
        "network": network,
        **config_extra,
    }
    if config.get("healthcheck") or image_cfg.get("Healthcheck"):  # docker's merge: the image's where unset
        from mydocker.statemachine.health import merge

        config["healthcheck"] = merge(config.get("healthcheck"), image_cfg.get("Healthcheck"))
    payload = {"name": "", "image": opts.image, "image_id": image.id, "command": argv, "config": config}
    for _attempt in range(20):
        payload["name"] = name or naming.random_name()
        try:
            append(ctx.conn, "container", cid, 0, [Event("create", payload, ctx.actor())])
            crash("run.after-create")
            break
        except NameConflict:
            if name:
                holder = queries.get(ctx.conn, name)
                raise Conflict(
                    f'Conflict. The container name "/{name}" is already in use by container "{holder.id}". '
                    "You have to remove (or rename) that container to be able to reuse that name."
                ) from None
    else:
        raise Conflict("could not find a free random name")
    view = queries.by_id(ctx.conn, cid)
    assert view is not None
    return view


def _environment(image_env: list[str], hostname: str, opts: CreateOptions) -> list[str]:
    env: dict[str, str] = {}
    for item in [DEFAULT_ENV_PATH, *image_env, f"HOSTNAME={hostname}"]:
        key, _, value = item.partition("=")
        env[key] = value
    if opts.tty:
        env["TERM"] = "xterm"
    for item in opts.env:
        key, _, value = item.partition("=")
        env[key] = value
    return [f"{k}={v}" for k, v in env.items()]


# --- commands on an existing container --------------------------------------


def _locked(ctx: Context, ref: str, action: Callable[[Container], Any]) -> Any:
    return aggregates.locked(ctx, ref, action, effects_for(ctx))


def commit(ctx: Context, container_id: str, events: list[Event]) -> None:
    """History on a container's stream (the OCI entry point's): aggregate.append."""
    aggregates.append(ctx, container_id, events)


def start(ctx: Context, ref: str, attached: bool = False) -> monitor.LaunchResult | None:
    """None when the container was running already (docker: nothing to do)."""
    return _locked(ctx, ref, lambda agg: agg.handle("start", attached=attached))


def stop(ctx: Context, ref: str, timeout: float | None = None) -> ContainerView:
    _locked(ctx, ref, lambda agg: agg.handle("stop", timeout=timeout))
    return queries.get(ctx.conn, ref)


def kill(ctx: Context, ref: str, sig: int) -> None:
    _locked(ctx, ref, lambda agg: agg.handle("kill", signal=sig))


def pause(ctx: Context, ref: str) -> None:
    _locked(ctx, ref, lambda agg: agg.handle("pause"))


def unpause(ctx: Context, ref: str) -> None:
    _locked(ctx, ref, lambda agg: agg.handle("unpause"))


def restart(ctx: Context, ref: str, timeout: float = 10.0) -> monitor.LaunchResult:
    """docker restart: stop if alive (paused too), then start, under one lock so
    no other command slips in between; a `restart` event closes the pair."""
    return _locked(ctx, ref, lambda agg: agg.handle("restart", timeout=timeout))


def rename(ctx: Context, ref: str, new_name: str) -> None:
    view = queries.get(ctx.conn, ref)
    try:
        name = naming.check_name(new_name)
    except InvalidArgument as exc:
        raise Conflict(f"Error when allocating new name: {exc}") from None  # docker: exit 1, not 125
    if name == view.name:
        raise Conflict("Renaming a container with the same name as its current name")
    try:
        _locked(ctx, view.id, lambda agg: agg.handle("rename", name=name))
    except NameConflict:
        holder = queries.get(ctx.conn, name)
        raise Conflict(f'Error when allocating new name: Conflict. The container name "/{name}" is already in use '
                        f'by container "{holder.id}". You have to remove (or rename) that container '
                        "to be able to reuse that name.") from None


def update(ctx: Context, ref: str, limits: dict[str, Any], restart_policy: dict[str, Any] | None = None) -> str:
    extra = {"restart_policy": restart_policy} if restart_policy is not None else {}
    _locked(ctx, ref, lambda agg: agg.handle("update", limits=limits, **extra))
    return ref


def remove(ctx: Context, ref: str, force: bool = False, remove_volumes: bool = False) -> str:
    """Remove; returns the container's id. rm -f of a missing one is the caller's call.

    Volumes outlive the container (their mounts went with its mount namespace);
    remove_volumes (`rm -v`, `run --rm`) deletes its anonymous ones afterwards."""
    view = queries.get(ctx.conn, ref)
    cid = _locked(ctx, view.id, lambda agg: (agg.handle("remove", force=force), agg.view.id)[1])
    if remove_volumes:
        volumes.remove_anonymous(ctx, view.config["spec"].get("mounts", []))
    return cid


def released(conn: sqlite3.Connection, container_id: str, recorder: tuple[int, int] | None = None) -> None:
    """docker's wait returns once the container is cleaned up; a monitor records `die`
    first (machine._record_die: so the log reads in order), then releases its volumes,
    cgroups and network and honours --rm. Wait for the monitor to finish: the one seen
    watching, or, if it had recorded the death before we looked, the last one the log
    names (its start or adopt event)."""
    from mydocker.statemachine.effects import MONITOR_GRACE

    if recorder is None:
        row = conn.execute(
            "SELECT json_extract(payload, '$.monitor_pid'), json_extract(payload, '$.monitor_start') FROM events"
            " WHERE stream_id = ? AND type IN ('start', 'adopt') ORDER BY version DESC LIMIT 1",
            (container_id,)).fetchone()
        recorder = (row[0], row[1]) if row is not None and row[0] else None
    if recorder is not None and procinfo.is_same_process(*recorder):
        procinfo.wait_exit(recorder[0], MONITOR_GRACE)


def wait(ctx: Context, ref: str) -> int:
    """Block until the container is not running; its exit code."""
    view = queries.get(ctx.conn, ref)
    recorder: tuple[int, int] | None = None  # the monitor last seen watching it
    while True:
        current = queries.by_id(ctx.conn, view.id)
        if current is None:
            # Removed while we waited: our open may have made its lock file anew after
            # rm forgot it (the soak hammer found such files left behind).
            locks.forget(ctx.root, view.id)
            raise queries.NoSuchContainer(ref)
        if not alive(current):
            released(ctx.conn, view.id, recorder)
            code = current.row["exit_code"]
            return 0 if code is None else code
        mpid, mstart = current.row["monitor_pid"], current.row["monitor_start"]
        if procinfo.is_same_process(mpid, mstart):
            recorder = (mpid, mstart)
            procinfo.wait_exit(mpid, 1.0)
        else:
            # No monitor to wait on: if the container died unseen, say so.
            from mydocker.statemachine.reconcile import reconcile

            reconcile(ctx.root, ctx.conn)
            time.sleep(0.05)
