"""Serving the application on a unix socket (default ROOT/mydocker.sock, 0660)
or on a loopback TCP port, until SIGTERM/SIGINT or --timeout idle seconds."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
import stat
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aiohttp import web
from mydocker.statemachine.errors import InvalidArgument


@dataclass
class Listen:
    kind: str  # "unix" or "tcp"
    path: str = ""
    host: str = ""
    port: int = 0

    def __str__(self) -> str:
        if self.kind == "fd":
            return "fd:// (the socket systemd passed)"
        return f"unix://{self.path}" if self.kind == "unix" else f"tcp://{self.host}:{self.port}"


SD_LISTEN_FDS_START = 3


def activated() -> bool:
    """systemd's socket activation (sd_listen_fds): a socket passed as fd 3, for us."""
    return os.environ.get("LISTEN_PID") == str(os.getpid()) and os.environ.get("LISTEN_FDS") == "1"


def parse_listen(text: str | None, root: str) -> Listen:
    """unix://PATH or tcp://HOST:PORT; TCP has no peer credentials and no
    authentication, so only a loopback address is served."""
    if not text:
        return Listen("fd") if activated() else Listen("unix", path=os.path.join(root, "mydocker.sock"))
    if text == "fd://":  # dockerd's -H fd://
        if not activated():
            raise InvalidArgument("--listen fd:// needs a socket passed by systemd (LISTEN_FDS=1)")
        return Listen("fd")
    if text.startswith("unix://"):
        path = text[len("unix://"):]
        if not path.startswith("/"):
            raise InvalidArgument(f"invalid --listen {text!r}: the socket path must be absolute")
        return Listen("unix", path=path)
    if text.startswith("tcp://"):
        host, sep, port = text[len("tcp://"):].rpartition(":")
        host = host.strip("[]")
        if not sep or not port.isdigit() or int(port) > 65535:
            raise InvalidArgument(f"invalid --listen {text!r}: use tcp://127.0.0.1:PORT")
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise InvalidArgument(f"refusing to listen on {host!r}: the API has no authentication, "
                                  "TCP is served on a loopback address only (127.0.0.1, ::1)")
        return Listen("tcp", host="127.0.0.1" if host == "localhost" else host, port=int(port))
    raise InvalidArgument(f"invalid --listen {text!r}: use unix://PATH or tcp://127.0.0.1:PORT")


def _claim_socket(path: str) -> None:
    """A socket file nobody answers on is a leftover (a killed service): remove it."""
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        return
    if not stat.S_ISSOCK(os.lstat(path).st_mode):
        raise InvalidArgument(f"{path} exists and is not a socket: refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise InvalidArgument(f"{path} is already served by another process")


class Activity:
    """Requests in flight and when the last one ended, for --timeout."""

    def __init__(self) -> None:
        self.active = 0
        self.last = time.monotonic()

    @web.middleware
    async def track(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        self.active += 1
        try:
            return await handler(request)
        finally:
            self.active -= 1
            self.last = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.active else time.monotonic() - self.last


async def serve(root: str, listen: Listen, timeout: float) -> None:
    from mydocker.cli.api.app import make_app

    # Waits, stops (up to their timeout) and streams each hold a worker thread for a while:
    # the default pool (cores + 4) would make the 7th client wait for the first.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=64, thread_name_prefix="api"))
    app = make_app(root)
    activity = Activity()
    app.middlewares.insert(0, activity.track)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site: web.BaseSite
    if listen.kind == "fd":
        site = web.SockSite(runner, socket.socket(fileno=SD_LISTEN_FDS_START))
    elif listen.kind == "unix":
        _claim_socket(listen.path)
        site = web.UnixSite(runner, listen.path)
    else:
        site = web.TCPSite(runner, listen.host, listen.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    try:
        await site.start()
        if listen.kind == "unix":
            os.chmod(listen.path, 0o660)
        else:
            server = getattr(site, "_server", None)
            if listen.port == 0 and server is not None and server.sockets:
                listen.port = server.sockets[0].getsockname()[1]
        sys.stdout.write(f"API listening on {listen}\n")
        sys.stdout.flush()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass
            if timeout and activity.idle_for() >= timeout:
                break
    finally:
        await runner.cleanup()
        if listen.kind == "unix":
            try:
                os.unlink(listen.path)
            except FileNotFoundError:
                pass
