"""/containers/...: the CLI's container commands, as docker's CLI and docker-py call them.

Starting forks a monitor, which the threaded server must not do: a start runs the
small child cli/api/launch.py. A client attached before the start (docker run's
order: create, attach, start) gets that child's stdio (pipes, or a pty for a tty);
one attached to a running detached container relays `mydocker attach` (stdin, detach keys,
resize); a foreground one's streams belong to its terminal, so that attach follows its log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from mydocker.cli.api import queryargs
from mydocker.cli.api.calls import ROOT_KEY, ApiContext, cli_argv, cli_env, cli_error, in_thread, json_body, run_cli
from mydocker.cli.api.errors import ApiError, bad_request
from mydocker.cli.api.streams import RAW_STREAM, STDERR, STDOUT, Child, Connection, frame, stream_of
from mydocker.core.attachsock import NAME as ATTACH_SOCKET

routes = web.RouteTableDef()
POLL = 0.1  # seconds between looks at a container's state or log while streaming


@dataclass
class Attachment:
    """A client attached to a container that is not running yet: the next start's child is its."""

    conn: Connection
    stdin: bool
    detach_keys: str = ""  # the attach's detachKeys; docker's default when empty
    child: asyncio.Future[Child] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


PENDING: web.AppKey[dict[str, list[Attachment]]] = web.AppKey("pending_attachments", dict)
TERMINALS: web.AppKey[dict[str, Child]] = web.AppKey("terminals", dict)  # container or exec id -> its pty child


def setup(app: web.Application) -> None:
    app[PENDING] = {}
    app[TERMINALS] = {}


def _view(ctx: ApiContext, ref: str) -> Any:
    from mydocker.statemachine import queries

    return queries.get(ctx.conn, ref)


async def get_view(request: web.Request, reconcile: bool = False) -> Any:
    ref = request.match_info["id"]
    return await in_thread(request, lambda ctx: _view(ctx, ref), reconcile=reconcile)


def _alive(view: Any) -> bool:
    from mydocker.statemachine.machine import alive

    return alive(view)


def _unix_time(stamp: str | None) -> int:
    from mydocker.cli.humanize import parse_time

    return int(parse_time(stamp).timestamp()) if stamp else 0


# --- create, list, inspect --------------------------------------------------------------


@routes.post("/containers/create")
async def create(request: web.Request) -> web.Response:
    from mydocker.cli.api.create_body import create_argv

    body = await json_body(request)
    argv, after = create_argv(body, request.query.get("name") or None)
    warnings: list[str] = []
    if (body.get("HostConfig") or {}).get("NetworkMode") == "host" and (body["HostConfig"].get("PortBindings")):
        warnings.append("Published ports are discarded when using host network mode")

    def make(ctx: ApiContext) -> str:
        from mydocker.cli.commands import create as create_command
        from mydocker.cli.container_flags import create_options
        from mydocker.statemachine import lifecycle

        options = create_options(create_command.parser().parse_args(argv))
        if "entrypoint" in after:
            options.entrypoint = after["entrypoint"]
        options.config_extra.update(after["config_extra"])
        return lifecycle.create(ctx, options).id

    container_id = await in_thread(request, make)
    return web.json_response({"Id": container_id, "Warnings": warnings}, status=201)


def list_entry(view: Any, size: int | None) -> dict[str, Any]:
    """One element of GET /containers/json, built from inspect's shape."""
    from mydocker.cli.views import inspect_container, status_text

    full = inspect_container(view)
    ports = []
    if full["State"]["Running"]:
        for key, bindings in full["NetworkSettings"]["Ports"].items():
            port, _, proto = key.partition("/")
            for b in bindings:
                ports.append({"IP": b["HostIp"], "PrivatePort": int(port), "PublicPort": int(b["HostPort"]),
                              "Type": proto})
    entry = {
        "Id": view.id, "Names": ["/" + view.name], "Image": view.row["image"], "ImageID": view.row["image_id"],
        "Command": " ".join(view.command), "Created": _unix_time(view.row["created_at"]), "Ports": ports,
        "Labels": full["Config"]["Labels"], "State": full["State"]["Status"], "Status": status_text(view),
        "HostConfig": {"NetworkMode": full["HostConfig"]["NetworkMode"]},
        "NetworkSettings": {"Networks": full["NetworkSettings"]["Networks"]}, "Mounts": full["Mounts"],
    }
    if size is not None:
        entry["SizeRw"] = size
    return entry


@routes.get("/containers/json")
async def list_containers(request: web.Request) -> web.Response:
    everything = queryargs.flag(request, "all")
    limit = queryargs.integer(request, "limit", -1) or -1
    with_size = queryargs.flag(request, "size")
    wanted = queryargs.filters(request)

    def listing(ctx: ApiContext) -> list[dict[str, Any]]:
        from mydocker.cli.commands.ps import listing as ps_listing
        from mydocker.cli.views import writable_size
        from mydocker.statemachine import container_filters

        views = ps_listing(ctx.conn, container_filters.parse(wanted), everything, limit)
        return [list_entry(v, writable_size(v) if with_size else None) for v in views]

    return web.json_response(await in_thread(request, listing, reconcile=True))


@routes.get("/containers/{id}/json")
async def inspect(request: web.Request) -> web.Response:
    ref = request.match_info["id"]
    with_size = queryargs.flag(request, "size")

    def shown(ctx: ApiContext) -> dict[str, Any]:
        from mydocker.cli.views import inspect_container, writable_size
        from mydocker.statemachine import exec_ids

        view = _view(ctx, ref)
        data = inspect_container(view, exec_ids.running(ctx.conn, view))
        if with_size:
            data["SizeRw"] = writable_size(view)
        return data

    return web.json_response(await in_thread(request, shown, reconcile=True))


# --- start, attach, wait ----------------------------------------------------------------


def _read_report(fd: int) -> dict[str, Any]:
    with os.fdopen(fd, "rb") as f:
        line = f.readline()
    try:
        found = json.loads(line)
    except ValueError:
        found = None
    return found if isinstance(found, dict) else {"started": False, "message": "the start failed"}


def _pending(request: web.Request, container_id: str) -> Attachment | None:
    waiting = request.app[PENDING].get(container_id, [])
    while waiting:
        attachment = waiting.pop(0)
        if not attachment.conn.gone and not attachment.child.done():
            return attachment
    request.app[PENDING].pop(container_id, None)
    return None


@routes.post("/containers/{id}/start")
async def start(request: web.Request) -> web.Response:
    view = await get_view(request, reconcile=True)
    if _alive(view):
        raise ApiError(304, "")
    attachment = _pending(request, view.id)
    tty = bool(view.config["spec"].get("tty"))
    stdin = attachment is not None and attachment.stdin and bool(view.config["spec"].get("interactive"))
    report_r, report_w = os.pipe()
    argv = [sys.executable, "-m", "mydocker.cli.api.launch", request.app[ROOT_KEY], view.id, str(report_w),
            "attached" if attachment else "detached", attachment.detach_keys if attachment else ""]
    try:
        child = await Child.spawn(argv, cli_env(request), tty_mode=tty and attachment is not None, stdin=stdin,
                                  pass_fds=(report_w,))
    finally:
        os.close(report_w)
    report = await asyncio.get_running_loop().run_in_executor(None, _read_report, report_r)
    if attachment is not None:
        if tty:
            request.app[TERMINALS][view.id] = child
        attachment.child.set_result(child)  # its handler copies, and reaps the child
    else:
        asyncio.ensure_future(child.proc.wait())
    if report.get("started"):
        return web.Response(status=204)
    message = report.get("message") or "the start failed"
    if report.get("error") == "NoSuchContainer":
        raise ApiError(404, message)
    raise ApiError(400 if report.get("exit_code") in (126, 127) else 500, message)


def _log_path(view: Any) -> str:
    return os.path.join(view.config["directory"], "container.log")


def _records(path: str, position: int) -> tuple[list[dict[str, str]], int]:
    """Complete records written since position, and the new position."""
    from mydocker.core.logs import parse_lines

    try:
        with open(path, "rb") as f:
            f.seek(position)
            chunk = f.read()
    except FileNotFoundError:
        return [], position
    complete = chunk[: chunk.rfind(b"\n") + 1]  # a half-written line waits for the next look
    records = list(parse_lines(iter(complete.decode("utf-8", "replace").splitlines(keepends=True))))
    return records, position + len(complete)


def _encode(record: dict[str, str], tty: bool, timestamps: bool = False) -> bytes:
    text = record.get("log", "")
    if timestamps:
        text = f"{record.get('time', '')} {text}"
    data = text.encode("utf-8", "replace")
    return data if tty else frame(stream_of(record), data)


async def _follow(request: web.Request, view: Any, position: int, send: Any, keep: Any = None) -> None:
    """Send the log's new records until the container is no longer running (or
    send() says the client is gone)."""
    path = _log_path(view)
    while True:
        current = await in_thread(request, lambda ctx: _by_id(ctx, view.id))
        running = current is not None and _alive(current)
        records, position = await asyncio.get_running_loop().run_in_executor(None, _records, path, position)
        for record in records:
            if (keep is None or keep(record)) and not await send(record):
                return
        if not running:
            return
        await asyncio.sleep(POLL)


def _released(ctx: ApiContext, container_id: str) -> None:
    from mydocker.statemachine.lifecycle import released

    released(ctx.conn, container_id)


def _by_id(ctx: ApiContext, container_id: str) -> Any:
    from mydocker.statemachine import queries

    return queries.by_id(ctx.conn, container_id)


@routes.post("/containers/{id}/attach")
async def attach(request: web.Request) -> web.StreamResponse:
    view = await get_view(request, reconcile=True)
    tty = bool(view.config["spec"].get("tty"))
    want_stdin = queryargs.flag(request, "stdin")
    streams = frozenset(number for name, number in (("stdout", STDOUT), ("stderr", STDERR))
                        if queryargs.flag(request, name))
    stream = queryargs.flag(request, "stream")
    logs = queryargs.flag(request, "logs")
    detach_keys = request.query.get("detachKeys", "")
    _detach_bytes(detach_keys)  # refused with docker's words before the upgrade, not by the start
    conn = await Connection.open(request)

    async def send(record: dict[str, str]) -> bool:
        if stream_of(record) not in streams:
            return True  # a stream the client did not ask for
        return await conn.write(_encode(record, tty))

    try:
        position = 0
        if logs:
            records, position = await asyncio.get_running_loop().run_in_executor(None, _records, _log_path(view), 0)
            for record in records:
                await send(record)
        elif os.path.exists(_log_path(view)):
            position = os.path.getsize(_log_path(view))
        if not stream:
            return conn.response
        if _alive(view):
            if os.path.exists(os.path.join(view.config["directory"], ATTACH_SOCKET)):
                await _attach_live(request, conn, view.id, tty, want_stdin, streams)
            else:  # a foreground container's streams belong to its terminal: its log only
                await _follow(request, view, position, send)
            return conn.response
        attachment = Attachment(conn, want_stdin, detach_keys)
        request.app[PENDING].setdefault(view.id, []).append(attachment)
        while not attachment.child.done():
            if conn.gone:
                return conn.response
            await asyncio.wait([attachment.child], timeout=0.2)
        child = attachment.child.result()
        try:
            # docker's CLI reads the detach keys itself and just closes the connection: the
            # monitor, which reads the terminal, is told by the same keys (start passed them on)
            # and hands the container to its waiter; without it, it would stay attached for good.
            keys = _detach_bytes(attachment.detach_keys) if tty and attachment.stdin else b""
            await child.relay(conn, multiplexed=not tty, stdin=want_stdin, streams=streams,
                              on_lost=(lambda: child.type_keys(keys)) if keys else None)
        finally:
            if request.app[TERMINALS].get(view.id) is child:
                del request.app[TERMINALS][view.id]
        return conn.response
    finally:
        conn.close()


def _detach_bytes(keys: str) -> bytes:
    from mydocker.cli.errors import CliError
    from mydocker.cli.terminal import DEFAULT_DETACH_KEYS, parse_detach_keys

    try:
        return parse_detach_keys(keys or DEFAULT_DETACH_KEYS)
    except CliError as exc:
        raise bad_request(str(exc)) from None


async def _attach_live(request: web.Request, conn: Connection, container_id: str, tty: bool, stdin: bool,
                       streams: frozenset[int]) -> None:
    """A running detached container's waiter serves its streams and stdin on the attach
    socket: relay a `mydocker attach` child, detach keys and resize included."""
    args = ["attach", "--sig-proxy=false"] + ([] if stdin else ["--no-stdin"])
    if request.query.get("detachKeys"):
        args += ["--detach-keys", request.query["detachKeys"]]
    child = await Child.spawn(cli_argv(request, *args, container_id), cli_env(request), tty_mode=tty, stdin=stdin)
    if tty:
        request.app[TERMINALS][container_id] = child
    try:
        # the attach child only relays: once the client is gone (docker's CLI closes at its
        # detach keys) it has nothing left to do, and the container runs on in its waiter
        await child.relay(conn, multiplexed=not tty, stdin=stdin, streams=streams, on_lost=child.terminate)
    finally:
        if request.app[TERMINALS].get(container_id) is child:
            del request.app[TERMINALS][container_id]


@routes.post("/containers/{id}/wait")
async def wait(request: web.Request) -> web.StreamResponse:
    condition = request.query.get("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise bad_request(f"invalid condition: {condition!r}")
    view = await get_view(request, reconcile=True)
    deaths_before = await in_thread(request, lambda ctx: _deaths(ctx, view.id)[0])
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    await response.prepare(request)  # headers now, as dockerd: the client knows its wait is registered
    while True:
        current, (deaths, code) = await in_thread(request, lambda ctx: (_by_id(ctx, view.id), _deaths(ctx, view.id)))
        stopped = current is None or not _alive(current)
        if (condition == "removed" and current is None) or (condition == "not-running" and stopped) or \
                (condition == "next-exit" and stopped and deaths > deaths_before):
            break
        transport = request.transport
        if transport is None or transport.is_closing():
            return response
        await asyncio.sleep(POLL)
    if current is not None:  # as `mydocker wait`: once its monitor has released what it held
        await in_thread(request, lambda ctx: _released(ctx, view.id))
    with contextlib.suppress(ConnectionError, RuntimeError):  # the client may have given up
        await response.write(json.dumps({"StatusCode": code, "Error": None}).encode() + b"\n")
        await response.write_eof()
    return response


def _deaths(ctx: ApiContext, container_id: str) -> tuple[int, int]:
    """(how many times it died, the last exit code): from the log, so a removed
    container still has them."""
    rows = ctx.conn.execute("SELECT payload FROM events WHERE stream_id = ? AND type = 'die' ORDER BY version",
                            (container_id,)).fetchall()
    last = json.loads(rows[-1][0]).get("exit_code") if rows else 0
    return len(rows), int(last or 0)


# --- logs --------------------------------------------------------------------------------


def _api_time(text: str | None, name: str) -> str | None:
    """since/until: unix seconds (with a fraction), as the log's UTC stamps."""
    if not text or text == "0":
        return None
    from datetime import UTC, datetime

    try:
        seconds = float(text)
    except ValueError:
        raise bad_request(f'invalid value for "{name}": {text}') from None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@routes.get("/containers/{id}/logs")
async def logs(request: web.Request) -> web.StreamResponse:
    follow = queryargs.flag(request, "follow")
    streams = {s for s in ("stdout", "stderr") if queryargs.flag(request, s)}
    if not streams:
        raise bad_request("Bad parameters: you must choose at least one stream")
    timestamps = queryargs.flag(request, "timestamps")
    since, until = _api_time(request.query.get("since"), "since"), _api_time(request.query.get("until"), "until")
    tail_text = request.query.get("tail", "all")
    tail = None if tail_text in ("all", "") else queryargs.integer(request, "tail")
    view = await get_view(request, reconcile=True)
    tty = bool(view.config["spec"].get("tty"))

    def in_window(record: dict[str, str]) -> bool:
        stamp = record.get("time", "")
        return (since is None or stamp >= since) and (until is None or stamp < until)

    def keep(record: dict[str, str]) -> bool:
        return record.get("stream", "stdout") in streams and in_window(record)

    response = web.StreamResponse(status=200, headers={"Content-Type": RAW_STREAM})
    await response.prepare(request)

    async def send(record: dict[str, str]) -> bool:
        try:
            await response.write(_encode(record, tty, timestamps))
            return True
        except (ConnectionError, RuntimeError):
            return False

    records, position = await asyncio.get_running_loop().run_in_executor(None, _records, _log_path(view), 0)
    shown = [r for r in records if in_window(r)]
    if tail is not None and tail >= 0:  # docker: the last lines of the log, then the streams asked for
        shown = shown[len(shown) - tail:] if tail else []
    shown = [r for r in shown if keep(r)]
    for record in shown:
        if not await send(record):
            return response
    if follow and _alive(view) and not (until and until <= _now()):
        await _follow(request, view, position, send, keep)
    with contextlib.suppress(ConnectionError, RuntimeError):  # the client may be gone
        await response.write_eof()
    return response


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- the other lifecycle commands -------------------------------------------------------


@routes.post("/containers/{id}/stop")
async def stop(request: web.Request) -> web.Response:
    ref = request.match_info["id"]
    timeout = queryargs.integer(request, "t")

    def work(ctx: ApiContext) -> bool:
        from mydocker.statemachine import lifecycle

        view = _view(ctx, ref)
        if not _alive(view):
            return False
        lifecycle.stop(ctx, view.id, timeout)
        return True

    return web.Response(status=204 if await in_thread(request, work, reconcile=True) else 304)


@routes.post("/containers/{id}/kill")
async def kill(request: web.Request) -> web.Response:
    from mydocker.cli.parsing import parse_signal

    ref = request.match_info["id"]
    signum = parse_signal(request.query.get("signal") or "SIGKILL")

    def work(ctx: ApiContext) -> None:
        from mydocker.statemachine import lifecycle

        lifecycle.kill(ctx, _view(ctx, ref).id, signum)

    await in_thread(request, work, reconcile=True)
    return web.Response(status=204)


@routes.post("/containers/{id}/restart")
async def restart(request: web.Request) -> web.Response:
    view = await get_view(request, reconcile=True)
    timeout = queryargs.integer(request, "t")
    argv = ["restart", *(["-t", str(timeout)] if timeout is not None else []), view.id]
    code, _, err = await run_cli(request, *argv)  # a restart forks a monitor: a child does it
    if code:
        raise ApiError(500, cli_error(err))
    return web.Response(status=204)


def _simple(trigger: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        ref = request.match_info["id"]

        def work(ctx: ApiContext) -> None:
            from mydocker.statemachine import lifecycle

            getattr(lifecycle, trigger)(ctx, _view(ctx, ref).id)

        await in_thread(request, work, reconcile=True)
        return web.Response(status=204)

    handler.__name__ = trigger
    return handler


routes.post("/containers/{id}/pause")(_simple("pause"))
routes.post("/containers/{id}/unpause")(_simple("unpause"))


@routes.delete("/containers/{id}")
async def remove(request: web.Request) -> web.Response:
    ref = request.match_info["id"]
    force = queryargs.flag(request, "force")
    volumes = queryargs.flag(request, "v")

    def work(ctx: ApiContext) -> None:
        from mydocker.statemachine import lifecycle

        lifecycle.remove(ctx, ref, force=force, remove_volumes=volumes)

    await in_thread(request, work, reconcile=True)
    return web.Response(status=204)


@routes.post("/containers/prune")
async def prune(request: web.Request) -> web.Response:
    wanted = queryargs.filters(request)

    def work(ctx: ApiContext) -> tuple[list[str], int]:
        from mydocker.cli.commands.container_prune import prune as prune_containers

        return queryargs.by_filters(prune_containers, ctx, wanted)

    deleted, reclaimed = await in_thread(request, work, reconcile=True)
    return web.json_response({"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed})


@routes.post("/containers/{id}/rename")
async def rename(request: web.Request) -> web.Response:
    ref = request.match_info["id"]
    name = request.query.get("name", "")

    def work(ctx: ApiContext) -> None:
        from mydocker.statemachine import lifecycle

        lifecycle.rename(ctx, ref, name[1:] if name.startswith("/") else name)

    await in_thread(request, work)
    return web.Response(status=204)


@routes.post("/containers/{id}/resize")
async def resize(request: web.Request) -> web.Response:
    height, width = queryargs.integer(request, "h", 0) or 0, queryargs.integer(request, "w", 0) or 0
    view = await get_view(request)
    child = request.app[TERMINALS].get(view.id)
    if child is not None and height > 0 and width > 0:
        child.resize(height, width)
    return web.Response(status=200)


@routes.get("/containers/{id}/top")
async def top(request: web.Request) -> web.Response:
    ps_args = request.query.get("ps_args", "").split()
    ref = request.match_info["id"]

    def work(ctx: ApiContext) -> dict[str, Any]:
        from mydocker.core import cgroups
        from mydocker.core.proctable import ProcTableError, ps_table
        from mydocker.statemachine.errors import UserError
        from mydocker.statemachine.machine import judge

        view = _view(ctx, ref)
        judge(view, "top")
        try:
            titles, rows = ps_table(ps_args or ["-ef"], cgroups.pids(view.config["spec"]["cgroups"]))
        except ProcTableError as exc:
            raise UserError(str(exc)) from None
        return {"Titles": titles, "Processes": rows}

    return web.json_response(await in_thread(request, work, reconcile=True))


@routes.get("/containers/{id}/changes")
async def changes(request: web.Request) -> web.Response:
    ref = request.match_info["id"]
    kinds = {"C": 0, "A": 1, "D": 2}

    def work(ctx: ApiContext) -> list[dict[str, Any]]:
        from mydocker.core.changes import changes as found

        config = _view(ctx, ref).config
        return [{"Path": path, "Kind": kinds.get(kind, 0)}
                for kind, path in found(os.path.join(config["directory"], "upper"), config["spec"].get("layers", []))]

    return web.json_response(await in_thread(request, work) or None)


@routes.post("/containers/{id}/update")
async def update(request: web.Request) -> web.Response:
    body = await json_body(request)
    ref = request.match_info["id"]
    limits: dict[str, Any] = {}
    for key, field_name in (("Memory", "memory"), ("MemorySwap", "memory_swap"), ("CpuShares", "cpu_shares"),
                            ("CpuQuota", "cpu_quota"), ("CpuPeriod", "cpu_period"), ("PidsLimit", "pids_limit")):
        value = body.get(key)
        if value is None or value == 0:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad_request(f"json: cannot unmarshal into Go struct field UpdateConfig.{key} of type int64")
        limits[field_name] = value
    if body.get("NanoCpus"):
        if not isinstance(body["NanoCpus"], int):
            raise bad_request("json: cannot unmarshal into Go struct field UpdateConfig.NanoCpus of type int64")
        limits["cpu_period"], limits["cpu_quota"] = 100000, body["NanoCpus"] // 10000
    if body.get("CpusetCpus"):
        limits["cpuset_cpus"] = str(body["CpusetCpus"])
    if limits:
        def work(ctx: ApiContext) -> None:
            from mydocker.statemachine import lifecycle

            lifecycle.update(ctx, _view(ctx, ref).id, limits)

        await in_thread(request, work, reconcile=True)
    else:
        await get_view(request)
    return web.json_response({"Warnings": []})


@routes.get("/containers/{id}/export")
async def export(request: web.Request) -> web.StreamResponse:
    view = await get_view(request, reconcile=True)
    from mydocker.cli.api.calls import cli_argv

    proc = await asyncio.create_subprocess_exec(*cli_argv(request, "export", view.id), env=cli_env(request),
                                                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = await proc.stdout.read(65536)
    if not first:
        err = await proc.stderr.read()
        await proc.wait()
        raise ApiError(500, cli_error(err.decode(errors="replace")))
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/x-tar"})
    await response.prepare(request)
    try:
        data = first
        while data:
            await response.write(data)
            data = await proc.stdout.read(65536)
    finally:
        if proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
        await proc.wait()
    await response.write_eof()
    return response


