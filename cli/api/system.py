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


@routes.get("/info")
async def info(request: web.Request) -> web.Response:
    from mydocker.cli.api.calls import ApiContext, in_thread

    def gather(ctx: ApiContext) -> dict[str, object]:
        from mydocker.cli.commands.info import gather as own_info

        own = own_info(ctx)
        # what the docker CLI reads beyond mydocker info's own fields
        return {**own, "DriverStatus": [], "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"],
                                                       "Log": ["json-file"]},
                "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
                "CPUShares": True, "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True,
                "Debug": False, "NFd": 0, "NGoroutines": 0, "SystemTime": "", "NEventsListener": 0,
                "IndexServerAddress": "https://index.docker.io/v1/", "RegistryConfig": {
                    "AllowNondistributableArtifactsCIDRs": [], "AllowNondistributableArtifactsHostnames": [],
                    "InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {}, "Mirrors": []},
                "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Labels": [], "ExperimentalBuild": False,
                "Runtimes": {"mydocker": {"path": "mydocker"}}, "DefaultRuntime": "mydocker",
                "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                          "Error": "", "RemoteManagers": None},
                "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "", "SecurityOptions": [],
                "Warnings": []}

    return web.json_response(await in_thread(request, gather, reconcile=True))


@routes.get("/system/df")
async def disk_usage(request: web.Request) -> web.Response:
    from mydocker.cli.api.calls import in_thread
    from mydocker.cli.api.disk_usage import gather

    return web.json_response(await in_thread(request, gather, reconcile=True))
