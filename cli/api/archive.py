"""/containers/{id}/archive: GET (a path as a tar), HEAD (its stat), PUT (a tar
unpacked into a directory), with `cp`'s own path resolution, which keeps every
path inside the container's root. A stopped container's filesystem is mounted in
a child's mount namespace (a fork), so the `cp` command runs as a CLI child."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import tarfile
from typing import Any

from aiohttp import web
from mydocker.cli.api.calls import cli_argv, cli_env, cli_error
from mydocker.cli.api.containers import get_view
from mydocker.cli.api.errors import ApiError, bad_request

routes = web.RouteTableDef()
STAT_HEADER = "X-Docker-Container-Path-Stat"
HEAD_BYTES = 1 << 16  # enough for the first member's headers (pax ones included)


def _path(request: web.Request) -> str:
    path = request.query.get("path", "")
    if not path:
        raise bad_request("bad parameter: path cannot be empty")
    return path if path.startswith("/") else "/" + path


def _go_mode(member: tarfile.TarInfo) -> int:
    """Go's os.FileMode bits, as docker's stat header carries them."""
    mode = member.mode & 0o7777
    if member.isdir():
        mode |= 1 << 31
    elif member.issym():
        mode |= 1 << 27
    return mode


def _stat_of(prefix: bytes) -> dict[str, Any] | None:
    try:
        with tarfile.open(fileobj=io.BytesIO(prefix), mode="r|") as tar:
            member = tar.next()
    except (tarfile.TarError, EOFError):
        return None
    if member is None:
        return None
    from datetime import UTC, datetime

    name = member.name.rstrip("/").split("/")[-1] or "/"
    return {"name": name, "size": member.size, "mode": _go_mode(member),
            "mtime": datetime.fromtimestamp(member.mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "linkTarget": member.linkname}


async def _open(request: web.Request, container_id: str, path: str) -> tuple[Any, bytes, dict[str, Any]]:
    """The `cp CONTAINER:PATH -` child, the start of its tar, and the path's stat."""
    proc = await asyncio.create_subprocess_exec(
        *cli_argv(request, "cp", f"{container_id}:{path}", "-"), env=cli_env(request),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    prefix = b""
    while len(prefix) < HEAD_BYTES and (chunk := await proc.stdout.read(HEAD_BYTES - len(prefix))):
        prefix += chunk
    found = _stat_of(prefix)
    if found is None:
        # stdout is drained beside stderr: a child still writing must not block on it
        err_bytes, _ = await asyncio.gather(proc.stderr.read(), _drain(proc.stdout))
        err = err_bytes.decode(errors="replace")
        await _end(proc)
        message = cli_error(err)
        raise ApiError(404 if "No such container" in message or "Could not find" in message else 500, message)
    return proc, prefix, found


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.read(1 << 16):
        pass


async def _end(proc: Any) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    await proc.wait()


def _stat_header(found: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(found).encode()).decode()


@routes.head("/containers/{id}/archive")
async def head(request: web.Request) -> web.Response:
    path = _path(request)
    view = await get_view(request)
    proc, _, found = await _open(request, view.id, path)
    await _end(proc)
    return web.Response(status=200, headers={STAT_HEADER: _stat_header(found), "Content-Type": "application/x-tar"})


@routes.get("/containers/{id}/archive")
async def get(request: web.Request) -> web.StreamResponse:
    path = _path(request)
    view = await get_view(request)
    proc, prefix, found = await _open(request, view.id, path)
    response = web.StreamResponse(status=200, headers={STAT_HEADER: _stat_header(found),
                                                       "Content-Type": "application/x-tar"})
    try:
        await response.prepare(request)
        data = prefix
        while data:
            await response.write(data)
            data = await proc.stdout.read(1 << 16)
        await response.write_eof()
    except (ConnectionError, RuntimeError):
        pass  # the client went away: the child is stopped below
    finally:
        await _end(proc)
    return response


@routes.put("/containers/{id}/archive")
async def put(request: web.Request) -> web.Response:
    path = _path(request)
    view = await get_view(request)
    proc = await asyncio.create_subprocess_exec(
        *cli_argv(request, "cp", "-", f"{view.id}:{path}"), env=cli_env(request),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None
    # stderr is read while the body is fed: a child that stops reading stdin to say why
    # must never wait on a full stderr pipe while we wait on its full stdin.
    err_task = asyncio.ensure_future(proc.stderr.read())
    try:
        async for chunk in request.content.iter_chunked(1 << 16):  # archives stream past the JSON body limit
            if proc.returncode is not None or err_task.done():
                break  # the child gave up (a first chunk that is not a tar): no more to feed
            proc.stdin.write(chunk)
            await proc.stdin.drain()
        proc.stdin.close()
    except (ConnectionError, BrokenPipeError):
        pass  # the child stopped reading: its stderr says why
    err = (await err_task).decode(errors="replace")
    code = await proc.wait()
    if code:
        message = cli_error(err)
        raise ApiError(404 if "No such container" in message or "Could not find" in message
                       else 400 if "must be a directory" in message or "not a valid tar" in message
                       else 500, message)
    return web.Response(status=200)
