"""GET /containers/{id}/stats in dockerd's JSON, read by core/stats.py as the `stats`
command reads it. stream=true: one object a second; stream=false: one object with two
readings a second apart (a CPU share needs two); one-shot=true with it: one reading."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from mydocker.cli.api import queryargs
from mydocker.cli.api.calls import ApiContext, in_thread
from mydocker.cli.api.containers import get_view

routes = web.RouteTableDef()
INTERVAL = 1.0  # seconds between two readings, as dockerd's collector
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time: dockerd's "no reading"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _reading(ctx: ApiContext, container_id: str) -> tuple[Any, Any]:
    """(the container's view, a sample, or None when it is not running)."""
    from mydocker.core import stats
    from mydocker.statemachine import queries
    from mydocker.statemachine.machine import alive

    view = queries.by_id(ctx.conn, container_id)
    if view is None or not alive(view):
        return view, None
    return view, stats.of_container(view.config["spec"], view.row["pid"])


def _cpu(sample: Any) -> dict[str, Any]:
    if sample is None:
        return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    return {"cpu_usage": {"total_usage": sample.cpu_ns, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "system_cpu_usage": sample.system_ns, "online_cpus": sample.online_cpus,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def document(view: Any, before: Any, after: Any, read: str, preread: str) -> dict[str, Any]:
    """dockerd's stats object; a container that is not running has zeros, as there."""
    doc: dict[str, Any] = {
        "read": read, "preread": preread, "name": "/" + view.name, "id": view.id,
        "pids_stats": {}, "blkio_stats": {"io_service_bytes_recursive": None}, "num_procs": 0,
        "storage_stats": {}, "cpu_stats": _cpu(after), "precpu_stats": _cpu(before), "memory_stats": {},
    }
    if after is None:
        return doc
    v1 = "memory" in view.config["spec"]["cgroups"]
    doc["pids_stats"] = {"current": after.pids}
    doc["blkio_stats"]["io_service_bytes_recursive"] = [
        {"major": 0, "minor": 0, "op": "read", "value": after.blk_read},
        {"major": 0, "minor": 0, "op": "write", "value": after.blk_write}]
    doc["memory_stats"] = {"usage": after.mem_usage + after.mem_inactive, "limit": after.mem_limit,
                           "stats": {"total_inactive_file" if v1 else "inactive_file": after.mem_inactive}}
    if view.config["spec"].get("network") not in ("host", "none"):
        doc["networks"] = {"eth0": {"rx_bytes": after.net_rx, "tx_bytes": after.net_tx, "rx_packets": 0,
                                    "tx_packets": 0, "rx_errors": 0, "tx_errors": 0, "rx_dropped": 0,
                                    "tx_dropped": 0}}
    return doc


@routes.get("/containers/{id}/stats")
async def stats(request: web.Request) -> web.StreamResponse:
    stream = queryargs.flag(request, "stream", default=True)
    one_shot = queryargs.flag(request, "one-shot") and not stream  # dockerd reads it only without stream
    container_id = (await get_view(request, reconcile=True)).id
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    await response.prepare(request)
    view, before = await in_thread(request, lambda ctx: _reading(ctx, container_id))
    preread = _now() if before is not None else ZERO_TIME

    async def send(current: Any, first: Any, second: Any, read: str, pre: str) -> None:
        await response.write(json.dumps(document(current, first, second, read, pre)).encode() + b"\n")

    with contextlib.suppress(ConnectionError, RuntimeError):  # the client went away
        if before is None or one_shot:  # a single reading, or the zeros of a stopped container
            await send(view, None, before, preread, ZERO_TIME)
            if not stream:
                await response.write_eof()
                return response
        while True:
            await asyncio.sleep(INTERVAL)
            current, after = await in_thread(request, lambda ctx: _reading(ctx, container_id))
            if current is None:
                break  # removed meanwhile
            read = _now() if after is not None else ZERO_TIME
            await send(current, before, after, read, preread)
            if not stream:
                break
            before, preread = after, read
        await response.write_eof()
    return response
