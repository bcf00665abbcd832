"""/volumes: list, create, inspect, remove, prune, as docker 20.10 answers them."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from mydocker.cli.api import queryargs
from mydocker.cli.api.calls import ApiContext, in_thread, json_body
from mydocker.cli.api.errors import bad_request

routes = web.RouteTableDef()


def _labels(body: dict[str, Any], key: str = "Labels") -> dict[str, str]:
    labels = body.get(key) or {}
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise bad_request(f"{key} must be a map of strings")
    return labels


@routes.get("/volumes")
async def list_volumes(request: web.Request) -> web.Response:
    wanted = queryargs.filters(request)

    def listing(ctx: ApiContext) -> list[dict[str, Any]]:
        from mydocker.cli.volume_list import select
        from mydocker.statemachine import volumes

        return [volumes.inspect(row) for row in queryargs.by_filters(select, ctx, wanted)]

    return web.json_response({"Volumes": await in_thread(request, listing), "Warnings": []})


@routes.post("/volumes/create")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    name = body.get("Name") or ""
    driver = body.get("Driver") or "local"
    if not isinstance(name, str) or not isinstance(driver, str):
        raise bad_request("Name and Driver must be strings")
    if driver != "local":
        raise bad_request(f"volume driver {driver!r} is not supported (only 'local')")
    labels = _labels(body)
    options = _labels(body, "DriverOpts") if body.get("DriverOpts") is not None else None
    import secrets

    from mydocker.statemachine import volumes

    name = name or secrets.token_hex(32)
    if options:
        try:
            volumes.check_options(name, options)
        except volumes.InvalidOption as exc:
            raise bad_request(str(exc)) from None  # dockerd: 400, the local driver's words

    def make(ctx: ApiContext) -> dict[str, Any]:
        return volumes.inspect(volumes.ensure(ctx, name, anonymous=False, labels=labels, options=options))

    return web.json_response(await in_thread(request, make), status=201)


@routes.get("/volumes/{name}")
async def inspect(request: web.Request) -> web.Response:
    name = request.match_info["name"]

    def look(ctx: ApiContext) -> dict[str, Any]:
        from mydocker.statemachine import volumes

        row = volumes.find(ctx.conn, name)
        if row is None:
            raise volumes.NoSuchVolume(name)
        return volumes.inspect(row)

    return web.json_response(await in_thread(request, look))


@routes.delete("/volumes/{name}")
async def remove(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    force = queryargs.flag(request, "force")

    def rm(ctx: ApiContext) -> None:
        from mydocker.statemachine import volumes

        volumes.remove(ctx, name, force=force)

    await in_thread(request, rm)
    return web.Response(status=204)


@routes.post("/volumes/prune")
async def prune(request: web.Request) -> web.Response:
    wanted = queryargs.filters(request)

    def work(ctx: ApiContext) -> tuple[list[str], int]:
        from mydocker.cli.commands.volume_prune import prune as prune_volumes

        return queryargs.by_filters(prune_volumes, ctx, wanted)

    deleted, reclaimed = await in_thread(request, work)
    return web.json_response({"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed})
