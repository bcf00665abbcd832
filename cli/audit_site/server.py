"""`audit serve`: datasette over ROOT/mydocker.db, read-only, on one socket.

Three locks on the door: only GET and HEAD pass; the file is opened with SQLite's
mode=ro (not immutable=1: that would ignore the WAL and show a live log as it was at
its last checkpoint); and the database object refuses the write connection datasette
would open for a write. datasette itself runs only SELECTs typed by a user."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
from pathlib import Path
from typing import Any

from datasette.app import Datasette
from datasette.database import Database
from datasette.plugins import pm
from mydocker.cli.audit_site import metadata, plugin

TEMPLATES = Path(__file__).resolve().parent / "templates"
SETTINGS = {
    "sql_time_limit_ms": 5000,  # the lifetimes view folds the whole log
    "allow_download": False,
    "default_cache_ttl": 0,  # the log grows while the page is open
}


class ReadOnlyDatabase(Database):
    def connect(self, write: bool = False) -> Any:
        if write:
            raise PermissionError("the audit log is served read-only")
        return super().connect(write=False)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """Bound before datasette starts, so a taken port is one line and port 0 works."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


READ_METHODS = ("GET", "HEAD")


def read_only(inner: Any) -> Any:
    """Every request that is not a read is refused at the door (datasette would answer
    some POSTs with its CSRF or 500 pages), whatever datasette or a plugin would do."""

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] not in READ_METHODS:
            await send({"type": "http.response.start", "status": 405,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"GET, HEAD")]})
            await send({"type": "http.response.body", "body": b"the mydocker audit log is served read-only\n"})
            return
        await inner(scope, receive, send)

    return guarded


def app(db_file: Path) -> Any:
    if not pm.has_plugin("mydocker-audit"):
        pm.register(plugin, name="mydocker-audit")
    ds = Datasette(metadata=metadata.build(), template_dir=str(TEMPLATES), settings=SETTINGS)
    ds.add_database(ReadOnlyDatabase(ds, path=str(db_file), is_mutable=True), name=metadata.DATABASE)
    asyncio.run(ds.invoke_startup())
    return read_only(ds.app())


def serve(db_file: Path, sock: socket.socket) -> None:
    import uvicorn

    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    sys.stdout.write(f"Serving {db_file} read-only at http://{shown}:{port}/ "
                     f"(timeline: http://{shown}:{port}{metadata.TIMELINE_PATH})\n")
    sys.stdout.flush()
    config = uvicorn.Config(app(db_file), log_level="warning", lifespan="on", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
