"""GET /events: the log as dockerd streams it, one JSON object per event, with
since / until / filters; without until it follows the log as it grows.

The follower is a thread of its own with its own connection (a long stream must
not hold one of the few executor workers), polling PRAGMA data_version as the
CLI's `events` does; it stops when the client goes or until has passed."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from aiohttp import web
from mydocker.cli.api import queryargs
from mydocker.cli.api.calls import context
from mydocker.cli.api.errors import bad_request

routes = web.RouteTableDef()
FOLLOW_POLL = 0.1  # seconds
_DONE = object()


def _shape(event: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    """dockerd's fields only (the CLI's json format adds the log's own)."""
    from mydocker.cli.commands.events import docker_shape

    full = docker_shape(event, attrs)
    out = {k: full[k] for k in ("Type", "Action", "Actor", "scope", "time", "timeNano")}
    if event.stream_type == "container":  # the old fields dockerd still sends for containers
        out.update(status=full["status"], id=full["id"], **{"from": full["from"]})
    return out


def _filters(request: web.Request) -> list[tuple[str, str]]:
    from mydocker.statemachine.audit import Filters

    pairs = []
    for text in queryargs.filters(request):
        key, _, value = text.partition("=")
        if key not in Filters.KEYS:
            raise bad_request(f"invalid filter '{key}'")
        pairs.append((key, value))
    return pairs


@routes.get("/events")
async def events(request: web.Request) -> web.StreamResponse:
    from mydocker.cli.commands.events import _now, parse_when
    from mydocker.statemachine.audit import Filters, matching

    since = parse_when(request.query["since"]) if request.query.get("since") else None
    until = parse_when(request.query["until"]) if request.query.get("until") else None
    filters = Filters(_filters(request))
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    stop = threading.Event()
    ctx = context(request)

    def put(item: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def follow() -> None:
        try:
            conn = ctx.conn
            last_seq = 0

            def emit() -> None:
                nonlocal last_seq
                for event, attrs in matching(conn, filters, since, until, last_seq):
                    last_seq = max(last_seq, event.seq)
                    put(_shape(event, attrs))

            if since is None and until is None:
                last_seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
            else:
                emit()
            seen = conn.execute("PRAGMA data_version").fetchone()[0]
            while not stop.is_set() and (until is None or _now() < until):
                time.sleep(FOLLOW_POLL)
                version = conn.execute("PRAGMA data_version").fetchone()[0]
                if version != seen:
                    seen = version
                    emit()
        except Exception as exc:  # noqa: BLE001 - reported as the stream's last line
            put({"error": str(exc)})
        finally:
            ctx.close()
            put(_DONE)

    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    await response.prepare(request)
    threading.Thread(target=follow, name="api-events", daemon=True).start()
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=1.0)
            except TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    break  # the client went away between events
                continue
            if item is _DONE:
                break
            await response.write(json.dumps(item).encode() + b"\n")
    except ConnectionResetError:
        pass  # the client went away mid-write
    finally:
        stop.set()
    return response
