"""How a handler reaches the statemachine: in a worker thread, with a Context
of its own whose actor names the API and the peer; and how it runs a CLI
command (what forks a monitor or an exec helper) as a child process.

The server keeps no connection or state between calls: each call opens the
database, acts under the same per-container lock the CLI takes, and closes."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web
from mydocker.statemachine.context import ACTOR_ENV, Context

T = TypeVar("T")
ROOT_KEY: web.AppKey[str] = web.AppKey("root", str)


class ApiContext(Context):
    def __init__(self, root: str, command: str = "", _conn: Any = None, peer: dict[str, Any] | None = None) -> None:
        super().__init__(root, command, _conn)
        self.peer = {} if peer is None else peer

    def actor(self) -> dict[str, Any]:
        return {**super().actor(), "via": "api", "peer": self.peer}


def peer_of(request: web.Request) -> dict[str, Any]:
    """The caller: uid/gid/pid from SO_PEERCRED on a unix socket, the address on TCP."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None and sock.family == socket.AF_UNIX:
        try:
            pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                struct.calcsize("3i")))
            return {"pid": pid, "uid": uid, "gid": gid}
        except OSError:
            return {}
    peer = transport.get_extra_info("peername") if transport is not None else None
    return {"address": f"{peer[0]}:{peer[1]}"} if isinstance(peer, tuple) else {}


def command_of(request: web.Request) -> str:
    return f"api {request.method} {request.path}"[:200]


def context(request: web.Request) -> ApiContext:
    return ApiContext(request.app[ROOT_KEY], command_of(request), peer=peer_of(request))


async def in_thread(request: web.Request, fn: Callable[[ApiContext], T], reconcile: bool = False) -> T:
    """fn(ctx) in a worker thread: SQLite and the statemachine block, the loop must not.
    reconcile: first make the log and the kernel agree, as the CLI's reading commands do."""
    ctx = context(request)

    def work() -> T:
        try:
            if reconcile:
                from mydocker.statemachine.reconcile import reconcile as agree

                agree(ctx.root, ctx.conn)
            return fn(ctx)
        finally:
            ctx.close()  # a connection is used by the thread that made it, and by no other

    return await asyncio.get_running_loop().run_in_executor(None, work)


def cli_argv(request: web.Request, *argv: str) -> list[str]:
    return [sys.executable, "-m", "mydocker.cli.main", "--root", request.app[ROOT_KEY], *argv]


def cli_env(request: web.Request) -> dict[str, str]:
    """What forks (a monitor, an exec helper) runs as a CLI child: forking the
    server's threaded interpreter would copy its loop and sockets. Its events
    still name the API and the peer (statemachine.context reads ACTOR_ENV)."""
    return {**os.environ, ACTOR_ENV: json.dumps({"via": "api", "peer": peer_of(request),
                                                 "request": command_of(request)})}


async def run_cli(request: web.Request, *argv: str) -> tuple[int, str, str]:
    """A CLI command to its end: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *cli_argv(request, *argv), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=cli_env(request))
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


def cli_error(err: str) -> str:
    """The CLI's one line, without its `Error: `."""
    lines = [line for line in err.splitlines() if line.strip()]
    text = lines[-1] if lines else "failed"
    return text[len("Error: "):] if text.startswith("Error: ") else text


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; an empty body is {}."""
    from mydocker.cli.api.errors import bad_request

    raw = await request.read()
    if not raw.strip():
        return {}
    if request.content_type != "application/json":
        # dockerd's CheckForJSON; it is also what keeps a web page's no-preflight
        # `text/plain` POST from creating containers through a loopback TCP port
        raise bad_request(f"Content-Type specified ({request.content_type}) must be 'application/json'")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request("invalid JSON: the body must be an object")
    return body
