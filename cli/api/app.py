"""The aiohttp application: routes from the modules listed in ROUTE_MODULES,
each under `/vX.Y` too, one middleware that checks the version and turns
typed errors into dockerd's statuses, and dockerd's response headers."""

from __future__ import annotations

import importlib
import ipaddress
import logging
import sys

from aiohttp import web
from mydocker.cli.api.calls import ROOT_KEY
from mydocker.cli.api.errors import ApiError, error_response, status_of
from mydocker.cli.errors import one_line

# Each module exposes `routes: web.RouteTableDef`; paths are written unversioned.
ROUTE_MODULES = ["system", "containers", "exec", "archive",
                 "images", "networks", "volumes", "events", "container_stats", "build"]

API_VERSION = "1.41"  # what docker 20.10 serves
MIN_API_VERSION = "1.12"  # dockerd 20.10's minimum
MAX_BODY = 16 << 20  # a JSON body (create, update) is small; archives stream past this limit
VERSION_PARAM = "api_version"

log = logging.getLogger("mydocker.api")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def check_version(text: str) -> None:
    """dockerd's words for a client outside [MIN_API_VERSION, API_VERSION]."""
    try:
        asked = _version_tuple(text)
    except ValueError:
        raise ApiError(400, f"invalid API version: {text}") from None
    if asked > _version_tuple(API_VERSION):
        raise ApiError(400, f"client version {text} is too new. Maximum supported API version is {API_VERSION}")
    if asked < _version_tuple(MIN_API_VERSION):
        raise ApiError(400, f"client version {text} is too old. Minimum supported API version is "
                            f"{MIN_API_VERSION}, please upgrade your client to a newer version")


# Headers only a web browser sends: docker's CLI, docker-py and compose never do.
BROWSER_HEADERS = ("Origin", "Sec-Fetch-Mode", "Sec-Fetch-Site")


def refuse_browsers(request: web.Request) -> None:
    """The API has no authentication and can start privileged containers: a web page
    the user opens must not reach it, neither directly nor by DNS rebinding (a name
    of its own that resolves to 127.0.0.1, sent as Host)."""
    if any(name in request.headers for name in BROWSER_HEADERS):
        raise ApiError(403, "requests from a web browser are refused (the API has no authentication)")
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if isinstance(sockname, tuple):  # TCP (a unix socket's name is a str)
        host = (request.url.host or "").strip("[]")
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ApiError(403, f"Host {host!r} refused: the API answers only to a loopback address")


@web.middleware
async def dispatch(request: web.Request, handler):  # type: ignore[no-untyped-def]
    version = request.match_info.get(VERSION_PARAM)
    try:
        refuse_browsers(request)
        if version is not None:
            check_version(version)
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # aiohttp's own refusals (no route, wrong method, body too large) in dockerd's shape
        message = "page not found" if exc.status == 404 else (exc.text or exc.reason)
        return error_response(exc.status, one_line(message))
    except Exception as exc:  # noqa: BLE001 - every failure answers {"message"}, never a traceback
        status = status_of(exc)
        if status == 500 and not isinstance(exc, ApiError):
            log.warning("%s %s: %r", request.method, request.path, exc)
        return error_response(status, one_line(exc))


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Api-Version"] = API_VERSION
    response.headers["Server"] = "mydocker (linux)"
    response.headers["Ostype"] = "linux"
    response.headers["Docker-Experimental"] = "false"


def make_app(root: str) -> web.Application:
    app = web.Application(middlewares=[dispatch], client_max_size=MAX_BODY)
    app[ROOT_KEY] = root
    app.on_response_prepare.append(_headers)
    for name in ROUTE_MODULES:
        module = sys.modules.get(f"mydocker.cli.api.{name}") or importlib.import_module(f"mydocker.cli.api.{name}")
        if hasattr(module, "setup"):  # a module's own app state (e.g. live attach connections)
            module.setup(app)
        for route in module.routes:
            assert isinstance(route, web.RouteDef)
            for path in (route.path, f"/v{{{VERSION_PARAM}:[0-9]+(\\.[0-9]+)*}}{route.path}"):
                app.router.add_route(route.method, path, route.handler, **route.kwargs)
    return app
