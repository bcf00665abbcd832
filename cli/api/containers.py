"""/containers/...: the CLI's container commands, as docker's CLI and docker-py call them."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from mydocker.cli.api import queryargs
from mydocker.cli.api.calls import ApiContext, in_thread

routes = web.RouteTableDef()


def _unix_time(stamp: str | None) -> int:
    from mydocker.cli.humanize import parse_time

    return int(parse_time(stamp).timestamp()) if stamp else 0


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
        from mydocker.cli.views import writable_size
        from mydocker.statemachine import container_filters, images, queries

        filters = container_filters.parse(wanted)
        views = queries.list_all(ctx.conn, include_stopped=everything or limit > 0
                                 or container_filters.implies_all(filters))

        def image_ids(ref: str) -> set[str]:
            found = images.find(ctx.conn, ref)
            return {found.id} if found is not None else set()

        views = container_filters.select(ctx.conn, views, filters, image_ids)
        if limit > 0:
            views = views[:limit]
        return [list_entry(v, writable_size(v) if with_size else None) for v in views]

    return web.json_response(await in_thread(request, listing, reconcile=True))


@routes.get("/containers/{id}/json")
async def inspect(request: web.Request) -> web.Response:
    ref = request.match_info["id"]
    with_size = queryargs.flag(request, "size")

    def shown(ctx: ApiContext) -> dict[str, Any]:
        from mydocker.cli.views import inspect_container, writable_size
        from mydocker.statemachine import queries

        view = queries.get(ctx.conn, ref)
        data = inspect_container(view)
        if with_size:
            data["SizeRw"] = writable_size(view)
        return data

    return web.json_response(await in_thread(request, shown, reconcile=True))
