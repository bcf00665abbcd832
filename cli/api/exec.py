"""/containers/{id}/exec and /exec/{id}/...: docker's exec instances.

An exec instance lives between its create and its start only in this service's
memory, as in dockerd (whose instances do not outlive the daemon either); what ran
is in the log: the `mydocker exec` child records exec_start and exec_die, with the
API's actor. The child, not the server, forks into the container's namespaces."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from mydocker.cli.api.calls import ApiContext, cli_argv, cli_env, in_thread, json_body
from mydocker.cli.api.containers import TERMINALS
from mydocker.cli.api.create_body import strings, typed
from mydocker.cli.api.errors import ApiError, bad_request
from mydocker.cli.api.streams import Child, Connection

routes = web.RouteTableDef()
KEPT = 256  # exec instances remembered (dicts keep creation order: the oldest go first)


@dataclass
class ExecInstance:
    id: str
    container_id: str
    argv: list[str]
    env: list[str]
    workdir: str
    user: str
    tty: bool
    stdin: bool
    stdout: bool
    stderr: bool
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    child: Child | None = None
    size: tuple[int, int] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def cli_args(self) -> list[str]:
        flags = [*(["-i"] if self.stdin else []), *(["-t"] if self.tty else [])]
        for item in self.env:
            flags += ["-e", item]
        if self.workdir:
            flags += ["-w", self.workdir]
        if self.user:
            flags += ["-u", self.user]
        return ["exec", *flags, self.container_id, *self.argv]

    def inspect(self) -> dict[str, Any]:
        return {
            "ID": self.id, "Running": self.running, "ExitCode": self.exit_code, "CanRemove": False,
            "ContainerID": self.container_id, "DetachKeys": "", "OpenStdin": self.stdin,
            "OpenStdout": self.stdout, "OpenStderr": self.stderr, "Pid": self.pid,
            "ProcessConfig": {"tty": self.tty, "entrypoint": self.argv[0], "arguments": self.argv[1:],
                              "privileged": False, "user": self.user},
        }


EXECS: web.AppKey[dict[str, ExecInstance]] = web.AppKey("exec_instances", dict)


def setup(app: web.Application) -> None:
    app[EXECS] = {}


def _instance(request: web.Request) -> ExecInstance:
    found = request.app[EXECS].get(request.match_info["id"])
    if found is None:
        raise ApiError(404, f"No such exec instance: {request.match_info['id']}")
    return found


@routes.post("/containers/{id}/exec")
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    where = "ExecConfig"
    argv = strings(body, "Cmd", where)
    if not argv:
        raise bad_request("No exec command specified")
    workdir = typed(body, "WorkingDir", str, where) or ""
    if workdir and not workdir.startswith("/"):
        raise bad_request(f"the working directory '{workdir}' is invalid, it needs to be an absolute path")
    env = [item for item in strings(body, "Env", where) or [] if "=" in item]
    ref = request.match_info["id"]

    def check(ctx: ApiContext) -> str:
        from mydocker.statemachine import naming, queries
        from mydocker.statemachine.machine import may, refusal

        view = queries.get(ctx.conn, ref)
        if not may(view, "exec"):  # the machine judges; dockerd's words start with a capital
            message = refusal("exec", view, {"ref": view.id})
            raise ApiError(409, message[0].upper() + message[1:])
        return view.id + " " + naming.new_id()

    container_id, exec_id = (await in_thread(request, check, reconcile=True)).split()
    _forget_finished(request.app[EXECS])
    request.app[EXECS][exec_id] = ExecInstance(
        exec_id, container_id, argv, env, workdir, typed(body, "User", str, where) or "",
        bool(typed(body, "Tty", bool, where)), bool(typed(body, "AttachStdin", bool, where)),
        bool(typed(body, "AttachStdout", bool, where)), bool(typed(body, "AttachStderr", bool, where)))
    return web.json_response({"Id": exec_id}, status=201)


def _forget_finished(instances: dict[str, ExecInstance]) -> None:
    """A long-lived service must not grow with every exec: past KEPT instances, the
    oldest finished ones go (their exit codes stay in the log's exec_die events)."""
    finished = [key for key, i in instances.items() if i.exit_code is not None]
    for key in finished[: max(0, len(instances) - KEPT)]:
        del instances[key]


@routes.post("/exec/{id}/start")
async def start(request: web.Request) -> web.StreamResponse:
    instance = _instance(request)
    body = await json_body(request)
    if instance.running or instance.exit_code is not None:
        raise ApiError(409, f"Error: Exec command {instance.id} has already run")
    detach = bool(typed(body, "Detach", bool, "ExecStartConfig"))
    tty = instance.tty or bool(typed(body, "Tty", bool, "ExecStartConfig"))
    instance.tty = tty
    instance.running = True
    argv = cli_argv(request, *instance.cli_args())
    if detach:
        instance.stdin = False
        child = await Child.spawn(argv, cli_env(request), tty_mode=False, stdin=False)
        instance.child, instance.pid = child, child.proc.pid
        asyncio.ensure_future(_finish(request, instance, child, None))
        return web.Response(status=200)
    conn = await Connection.open(request)
    try:
        child = await Child.spawn(argv, cli_env(request), tty_mode=tty, stdin=instance.stdin)
        instance.child, instance.pid = child, child.proc.pid
        if instance.size is not None:
            child.resize(*instance.size)
        await _finish(request, instance, child, conn)
    finally:
        conn.close()
    return conn.response


async def _finish(request: web.Request, instance: ExecInstance, child: Child, conn: Connection | None) -> None:
    if instance.tty:
        request.app[TERMINALS][instance.id] = child
    try:
        if conn is not None:
            code = await child.relay(conn, multiplexed=not instance.tty, stdin=instance.stdin)
        else:
            assert child.proc.stdout is not None and child.proc.stderr is not None
            await asyncio.gather(child.proc.stdout.read(), child.proc.stderr.read())
            code = await child.proc.wait()
    finally:
        request.app[TERMINALS].pop(instance.id, None)
    instance.exit_code, instance.running = code, False
    instance.done.set()


@routes.post("/exec/{id}/resize")
async def resize(request: web.Request) -> web.Response:
    from mydocker.cli.api import queryargs

    instance = _instance(request)
    height, width = queryargs.integer(request, "h", 0) or 0, queryargs.integer(request, "w", 0) or 0
    if height > 0 and width > 0:
        instance.size = (height, width)
        if instance.child is not None:
            instance.child.resize(height, width)
    return web.Response(status=201)


@routes.get("/exec/{id}/json")
async def inspect(request: web.Request) -> web.Response:
    return web.json_response(_instance(request).inspect())
