"""/_ping and /version (api-b: /info and /system/df join here)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()


@routes.get("/_ping")
async def ping(request: web.Request) -> web.Response:
    return web.Response(text="OK", headers={"Cache-Control": "no-cache, no-store, must-revalidate",
                                            "Pragma": "no-cache", "Builder-Version": "1"})


@routes.head("/_ping")
async def ping_head(request: web.Request) -> web.Response:
    return web.Response(headers={"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
                                 "Builder-Version": "1", "Content-Length": "0"})


def version_info() -> dict[str, object]:
    from mydocker.cli.api.app import API_VERSION, MIN_API_VERSION
    from mydocker.cli.commands.version import info

    own = info()["Client"]
    return {
        "Platform": {"Name": "mydocker"},
        "Components": [{"Name": "Engine", "Version": own["Version"],
                        "Details": {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
                                    "Os": "linux", "Arch": own["Arch"], "KernelVersion": own["KernelVersion"]}}],
        "Version": own["Version"], "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "", "GoVersion": f"python{own['PythonVersion']}", "Os": "linux", "Arch": own["Arch"],
        "KernelVersion": own["KernelVersion"], "BuildTime": "",
    }


@routes.get("/version")
async def version(request: web.Request) -> web.Response:
    return web.json_response(version_info())


# --- api-b: GET /info and GET /system/df go below ---------------------------------
