"""/images: list, inspect, create (= pull, or import with fromSrc), tag, remove,
load, get (save), history, prune, as docker 20.10 answers them.

A pull runs in a worker thread (threads, no fork) and its progress reaches the
client as dockerd's JSON stream; an error before the first line is an HTTP
status, one after it is an `errorDetail` line, as dockerd does."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import tempfile
from collections.abc import Callable
from typing import Any

from aiohttp import web
from mydocker.cli.api import queryargs
from mydocker.cli.api.calls import ROOT_KEY, ApiContext, in_thread
from mydocker.cli.api.errors import ApiError, bad_request

routes = web.RouteTableDef()
CHUNK = 1 << 16
MAX_LOAD = 16 << 30  # bytes of a /images/load body, unless MAX_LOAD_ENV says otherwise
MAX_LOAD_ENV = "MYDOCKER_API_MAX_LOAD"
_DONE = object()


def _unix(stamp: str) -> int:
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


def _not_found(message: str) -> bool:
    return "not found" in message or "does not exist" in message or "No such image" in message


def image_summary(image: Any, tags: list[str], digests: dict[str, str], users: int) -> dict[str, Any]:
    config = image.config
    return {
        "Id": image.id, "ParentId": "", "RepoTags": tags,
        "RepoDigests": [f"{repo}@{digest}" for repo, digest in sorted(digests.items())],
        "Created": _unix(config.get("created") or image.row["created_at"]),
        "Size": image.row["size"], "VirtualSize": image.row["size"], "SharedSize": -1,
        "Labels": (config.get("config") or {}).get("Labels") or {}, "Containers": users,
    }


@routes.get("/images/json")
async def list_images(request: web.Request) -> web.Response:
    everything = queryargs.flag(request, "all")
    wanted = queryargs.filters(request)

    def listing(ctx: ApiContext) -> list[dict[str, Any]]:
        from mydocker.cli.commands import images as images_cmd
        from mydocker.statemachine import images
        from mydocker.statemachine.errors import UserError
        from mydocker.statemachine.image_origins import repo_digests

        try:
            keep = images_cmd._select(ctx, images_cmd.parse_filters(wanted))
        except UserError as exc:
            raise bad_request(str(exc)) from None
        if not images.default_ever_built(ctx.conn):
            images.ensure_default(ctx)  # as `images` does on a root's first use
        intermediate = set() if everything else images.build_parents(ctx.conn)
        digests = repo_digests(ctx)
        out = []
        for image in images.list_images(ctx.conn):
            if not image.tags and image.id in intermediate:
                continue
            if image.tags:
                tags = [t for t in image.tags if keep(image, t)]
                if not tags:
                    continue
            elif keep(image, None):
                tags = []
            else:
                continue
            out.append(image_summary(image, tags, digests.get(image.id, {}), len(images.users(ctx.conn, image.id))))
        return out

    return web.json_response(await in_thread(request, listing))


@routes.get("/images/get")
async def get_many(request: web.Request) -> web.StreamResponse:
    return await _save(request, request.query.getall("names", []))


@routes.post("/images/load")
async def load(request: web.Request) -> web.Response:
    quiet = queryargs.flag(request, "quiet")
    limit = load_limit(request.app[ROOT_KEY])
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    with tempfile.TemporaryFile(dir=request.app[ROOT_KEY]) as spool:
        spooled = 0
        while chunk := await request.content.read(CHUNK):
            spooled += len(chunk)
            if spooled > limit:  # a chunked body says its size only by going on
                raise _too_large(limit)
            spool.write(chunk)
        spool.seek(0)

        def work(ctx: ApiContext) -> list[str]:
            from mydocker.statemachine import images
            from mydocker.statemachine.errors import UserError

            lines = []
            try:
                loaded = images.load(ctx, spool)
            except UserError as exc:  # the body is no archive we take (unsafe paths included)
                raise bad_request(str(exc)) from None
            for image, tags in loaded:
                lines += [f"Loaded image: {t}" for t in tags] or [f"Loaded image ID: {image.id}"]
            return lines

        lines = await in_thread(request, work)
    del quiet  # dockerd's quiet only drops a progress bar this answer never has
    body = "".join(json.dumps({"stream": line + "\n"}) + "\n" for line in lines)
    return _json_lines(body)


def load_limit(root: str) -> int:
    """The most a load's body may be: it is spooled, then unpacked beside it, so half
    the root's free space, and at most MAX_LOAD (MYDOCKER_API_MAX_LOAD bytes if set)."""
    import os

    try:
        most = int(os.environ.get(MAX_LOAD_ENV) or MAX_LOAD)
    except ValueError:
        most = MAX_LOAD
    stat = os.statvfs(root)
    return min(most, stat.f_bavail * stat.f_frsize // 2)


def _too_large(limit: int) -> ApiError:
    from mydocker.cli.sizes import human_size

    return ApiError(413, f"the archive is larger than the {human_size(limit)} this service loads (half its "
                         f"root's free space, and {MAX_LOAD_ENV} if set); use `mydocker load` on the host")


def _json_lines(body: str) -> web.Response:
    # The docker CLI renders the lines only for exactly this type (no charset)
    return web.Response(body=body.encode(), headers={"Content-Type": "application/json"})


@routes.post("/images/prune")
async def prune(request: web.Request) -> web.Response:
    wanted = queryargs.filters(request)
    everything = any(f in ("dangling=false", "dangling=0") for f in wanted)
    wanted = [f for f in wanted if not f.startswith("dangling=")]

    def work(ctx: ApiContext) -> tuple[list[str], int]:
        from mydocker.cli.commands.image_prune import prune as prune_images

        return queryargs.by_filters(prune_images, ctx, wanted, everything)

    lines, reclaimed = await in_thread(request, work)
    deleted = [{"Untagged" if line.startswith("untagged") else "Deleted": line.split(": ", 1)[1]} for line in lines]
    return web.json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed})


def _registry_auth(request: web.Request) -> tuple[str, str] | None:
    """X-Registry-Auth: base64url JSON {"username", "password"} (or an identitytoken we cannot use)."""
    header = request.headers.get("X-Registry-Auth", "").strip()
    if not header:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):
        raise bad_request("invalid X-Registry-Auth header") from None
    if not isinstance(data, dict):
        raise bad_request("invalid X-Registry-Auth header")
    user, password = data.get("username") or "", data.get("password") or ""
    return (str(user), str(password)) if user or password else None


async def _stream(request: web.Request, work: Callable[[ApiContext, Callable[[dict[str, Any]], None]], None],
                  ) -> web.StreamResponse:
    """work(ctx, emit) in a thread; what it emits, as JSON lines, once there is a first one."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def emit(obj: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, obj)

    task = asyncio.ensure_future(in_thread(request, lambda ctx: work(ctx, emit)))
    task.add_done_callback(lambda _: queue.put_nowait(_DONE))
    first = await queue.get()
    if first is _DONE:
        await task  # raises what failed before any output: an HTTP status of its own
        return _json_lines("")
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    await response.prepare(request)
    item = first
    try:
        while item is not _DONE:
            await response.write(json.dumps(item).encode() + b"\r\n")
            item = await queue.get()
        try:
            await task
        except Exception as exc:  # noqa: BLE001 - after a 200 the error is a line of the stream
            message = str(exc)
            await response.write(json.dumps({"errorDetail": {"message": message}, "error": message}).encode()
                                 + b"\r\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass  # the client left; the pull goes on in its thread and lands in the store all the same
    return response


@routes.post("/images/create")
async def create(request: web.Request) -> web.StreamResponse:
    source = request.query.get("fromSrc")
    if source is not None:
        return await _import(request, source)
    image = request.query.get("fromImage", "")
    tag = request.query.get("tag", "")
    if not image:
        raise bad_request("fromImage or fromSrc must be given")
    name = image if not tag else (f"{image}@{tag}" if tag.startswith("sha256:") else f"{image}:{tag}")
    platform = request.query.get("platform") or None
    creds = _registry_auth(request)

    def work(ctx: ApiContext, emit: Callable[[dict[str, Any]], None]) -> None:
        from mydocker.cli.progress import bar
        from mydocker.statemachine import pull
        from mydocker.statemachine.errors import UserError

        ref = pull.parse_reference(name)

        def progress(short: str, status: str, current: int | None, total: int | None) -> None:
            line: dict[str, Any] = {"status": status, "progressDetail": {}, "id": short}
            if current is not None and total:
                line["progressDetail"] = {"current": current, "total": total}
                line["progress"] = bar(current, total)
            emit(line)

        def resolved() -> None:
            emit({"status": f"Pulling from {ref.path}", "id": ref.tag or ref.digest})

        try:
            result = pull.pull(ctx, name, platform, progress, resolved, creds=creds)
        except UserError as exc:
            if _not_found(str(exc)):
                raise ApiError(404, str(exc)) from None
            raise
        state = "Image is up to date for" if result.up_to_date else "Downloaded newer image for"
        emit({"status": f"Digest: {result.digest}"})
        emit({"status": f"Status: {state} {ref.familiar}"})

    return await _stream(request, work)


async def _import(request: web.Request, source: str) -> web.StreamResponse:
    """fromSrc=-: the body is a rootfs tarball (docker import)."""
    if source != "-":
        raise bad_request("only fromSrc=- (the request body) is supported")
    repo, tag = request.query.get("repo", ""), request.query.get("tag", "")
    ref = f"{repo}:{tag}" if repo and tag else repo or None
    message = request.query.get("message", "")
    with tempfile.TemporaryFile(dir=request.app[ROOT_KEY]) as spool:
        while chunk := await request.content.read(CHUNK):
            spool.write(chunk)
        spool.seek(0)

        def work(ctx: ApiContext) -> str:
            from mydocker.statemachine import images
            from mydocker.statemachine.errors import InvalidArgument, UserError

            try:
                return images.import_tarball(ctx, spool, ref, message=message, source="api").id
            except InvalidArgument:
                raise
            except UserError as exc:  # the body is no rootfs we take (unsafe paths included)
                raise bad_request(str(exc)) from None

        image_id = await in_thread(request, work)
    return _json_lines(json.dumps({"status": image_id}) + "\r\n")


@routes.get("/images/{name:.+}/json")
async def inspect(request: web.Request) -> web.Response:
    name = request.match_info["name"]

    def look(ctx: ApiContext) -> dict[str, Any]:
        from mydocker.cli.views import inspect_image
        from mydocker.statemachine import images
        from mydocker.statemachine.image_origins import repo_digests

        image = images.resolve(ctx, name)  # busybox is made on first use, as run makes it
        return inspect_image(image, repo_digests(ctx).get(image.id, {}))

    return web.json_response(await in_thread(request, look))


@routes.get("/images/{name:.+}/history")
async def history(request: web.Request) -> web.Response:
    name = request.match_info["name"]

    def look(ctx: ApiContext) -> list[dict[str, Any]]:
        from mydocker.statemachine import images
        from mydocker.statemachine.build import history as image_history

        image = images.resolve(ctx, name)
        return [{"Id": e["ID"], "Created": _unix(e["CreatedAt"]), "CreatedBy": e["CreatedBy"],
                 "Tags": image.tags if e["ID"] == image.id else None, "Size": e["Size"], "Comment": e["Comment"]}
                for e in image_history(ctx, image)]

    return web.json_response(await in_thread(request, look))


@routes.get("/images/{name:.+}/get")
async def get_one(request: web.Request) -> web.StreamResponse:
    return await _save(request, [request.match_info["name"]])


async def _save(request: web.Request, names: list[str]) -> web.StreamResponse:
    """docker save: the archive is written to a spool file in the root, then sent."""
    if not names:
        raise bad_request("no image names given")
    spool = tempfile.TemporaryFile(dir=request.app[ROOT_KEY])  # noqa: SIM115 - closed below
    try:
        def work(ctx: ApiContext) -> None:
            from mydocker.statemachine import images

            images.save(ctx, names, spool)

        await in_thread(request, work)
        spool.seek(0)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/x-tar"})
        await response.prepare(request)
        while chunk := spool.read(CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        spool.close()


@routes.post("/images/{name:.+}/tag")
async def tag(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    repo, tag_name = request.query.get("repo", ""), request.query.get("tag", "")
    if not repo:
        raise bad_request("repository name (repo) must be given")
    target = f"{repo}:{tag_name}" if tag_name else repo

    def work(ctx: ApiContext) -> None:
        from mydocker.statemachine import images

        images.tag(ctx, name, target)

    await in_thread(request, work)
    return web.Response(status=201)


@routes.delete("/images/{name:.+}")
async def remove(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    force = queryargs.flag(request, "force")
    queryargs.flag(request, "noprune")  # checked; layers go only when nothing else uses them anyway

    def work(ctx: ApiContext) -> list[dict[str, str]]:
        from mydocker.statemachine import images

        return [{line.split(": ", 1)[0]: line.split(": ", 1)[1]} for line in images.remove(ctx, name, force=force)]

    return web.json_response(await in_thread(request, work))
