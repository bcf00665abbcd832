"""/networks: list, inspect, create, remove, connect, disconnect, prune, as docker
20.10 answers them. Connect and disconnect run as CLI children: plugging a veth
into a container's netns goes through pyroute2's namespace helper, which forks,
and the server never forks."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from mydocker.cli.api import queryargs
from mydocker.cli.api.calls import ApiContext, cli_error, in_thread, json_body, run_cli
from mydocker.cli.api.errors import ApiError, bad_request

routes = web.RouteTableDef()


def _strings(value: Any, what: str) -> dict[str, str]:
    value = value or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise bad_request(f"{what} must be a map of strings")
    return value


def _inspect(ctx: ApiContext, view: Any) -> dict[str, Any]:
    from mydocker.cli.commands.network import inspect_network

    return inspect_network(ctx.conn, view)


@routes.get("/networks")
async def list_networks(request: web.Request) -> web.Response:
    wanted = queryargs.filters(request)

    def listing(ctx: ApiContext) -> list[dict[str, Any]]:
        from mydocker.cli.network_list import select

        return [_inspect(ctx, view) for view in queryargs.by_filters(select, ctx, wanted)]

    return web.json_response(await in_thread(request, listing))


@routes.get("/networks/{id}")
async def inspect(request: web.Request) -> web.Response:
    ref = request.match_info["id"]

    def look(ctx: ApiContext) -> dict[str, Any]:
        from mydocker.statemachine import networks

        view = networks.find_any(ctx, ref)  # bridge, host and none before first use too
        if view is None:
            raise networks.NoSuchNetwork(ref)
        return _inspect(ctx, view)

    return web.json_response(await in_thread(request, look))


@routes.post("/networks/create")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    name = body.get("Name")
    if not isinstance(name, str) or not name:
        raise bad_request("network name must be given")
    driver = body.get("Driver") or "bridge"
    labels = _strings(body.get("Labels"), "Labels")
    if body.get("Internal") or body.get("EnableIPv6") or body.get("Ingress"):
        raise bad_request("internal, IPv6 and ingress networks are not supported")
    ipam = body.get("IPAM") or {}
    if not isinstance(ipam, dict):
        raise bad_request("IPAM must be an object")
    configs = ipam.get("Config") or []
    if not isinstance(configs, list) or len(configs) > 1 or not all(isinstance(c, dict) for c in configs):
        raise bad_request("IPAM Config takes at most one subnet here")
    subnet = configs[0].get("Subnet") or None if configs else None
    gateway = configs[0].get("Gateway") or None if configs else None
    if configs and configs[0].get("IPRange"):
        raise bad_request("IPAM IPRange is not supported")

    def make(ctx: ApiContext) -> str:
        from mydocker.statemachine import networks
        from mydocker.statemachine.errors import Conflict

        try:
            return networks.create(ctx, name, subnet, gateway, driver=str(driver), labels=labels).id
        except Conflict as exc:
            # CheckDuplicate or not, one name is one network here (docker's default since 1.44)
            raise ApiError(409, str(exc)) from None

    return web.json_response({"Id": await in_thread(request, make), "Warning": ""}, status=201)


@routes.delete("/networks/{id}")
async def remove(request: web.Request) -> web.Response:
    ref = request.match_info["id"]

    def rm(ctx: ApiContext) -> None:
        from mydocker.statemachine import networks
        from mydocker.statemachine.errors import Conflict

        try:
            networks.remove(ctx, ref)
        except Conflict as exc:
            if "pre-defined" in str(exc):
                raise ApiError(403, str(exc)) from None
            raise

    await in_thread(request, rm)
    return web.Response(status=204)


def _status(message: str) -> int:
    """The CLI child's refusal as dockerd's status."""
    if "not found" in message or "No such container" in message:
        return 404
    if "invalid" in message.lower() or "requested IP" in message:
        return 400
    return 403  # dockerd: connecting twice, to host or none, is forbidden


@routes.post("/networks/{id}/connect")
async def connect(request: web.Request) -> web.Response:
    ref = request.match_info["id"]
    body = await json_body(request)
    container = body.get("Container")
    if not isinstance(container, str) or not container:
        raise bad_request("Container must be given")
    endpoint = body.get("EndpointConfig") or {}
    if not isinstance(endpoint, dict):
        raise bad_request("EndpointConfig must be an object")
    aliases = endpoint.get("Aliases") or []
    ipam = endpoint.get("IPAMConfig") or {}
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases) or not isinstance(ipam, dict):
        raise bad_request("EndpointConfig: Aliases must be strings, IPAMConfig an object")
    argv = ["network", "connect", *(f"--alias={a}" for a in aliases)]
    if ipam.get("IPv4Address"):
        argv.append(f"--ip={ipam['IPv4Address']}")
    return await _network_cli(request, *argv, "--", ref, container)


@routes.post("/networks/{id}/disconnect")
async def disconnect(request: web.Request) -> web.Response:
    ref = request.match_info["id"]
    body = await json_body(request)
    container = body.get("Container")
    if not isinstance(container, str) or not container:
        raise bad_request("Container must be given")
    force = ["--force"] if body.get("Force") else []
    return await _network_cli(request, "network", "disconnect", *force, "--", ref, container)


async def _network_cli(request: web.Request, *argv: str) -> web.Response:
    """connect/disconnect through the CLI's own command: its error, dockerd's status."""
    code, _, err = await run_cli(request, *argv)
    if code != 0:
        message = cli_error(err)
        raise ApiError(_status(message), message)
    return web.Response(status=200)


@routes.post("/networks/prune")
async def prune(request: web.Request) -> web.Response:
    wanted = queryargs.filters(request)

    def work(ctx: ApiContext) -> list[str]:
        from mydocker.cli.commands.network_prune import prune as prune_networks

        return queryargs.by_filters(prune_networks, ctx, wanted)

    return web.json_response({"NetworksDeleted": await in_thread(request, work) or None})
