"""/build/prune: the build cache, which the classic builder keeps as untagged
images of build steps (cli/commands/image_prune.prune_build_cache); the docker
CLI's `system prune` and `builder prune` call it."""

from __future__ import annotations

from aiohttp import web
from mydocker.cli.api import queryargs
from mydocker.cli.api.calls import ApiContext, in_thread

routes = web.RouteTableDef()


@routes.post("/build/prune")
async def prune(request: web.Request) -> web.Response:
    wanted = queryargs.filters(request)

    def work(ctx: ApiContext) -> tuple[list[str], int]:
        from mydocker.cli.commands.image_prune import prune_build_cache

        return queryargs.by_filters(prune_build_cache, ctx, wanted)

    deleted, reclaimed = await in_thread(request, work)
    return web.json_response({"CachesDeleted": deleted or None, "SpaceReclaimed": reclaimed})
