"""`exec`: a process in a running container, recorded as exec_start / exec_die.

Neither event changes the container's state (the projection treats them as
history), and exec takes no container lock: a long `exec -it sh` must not block
`stop`. The init's (pid, start time) from the projection pins the namespaces to
join; if the container stops meanwhile, the command dies with it and exec_die
records what it saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mydocker.core import nsenter
from mydocker.statemachine import aggregate, naming, queries
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import ExecFailed, UserError
from mydocker.statemachine.machine import judge
from mydocker.store.events import Event


@dataclass
class ExecOptions:
    argv: list[str]
    env: list[str] = field(default_factory=list)  # KEY=VALUE, on top of the container's
    workdir: str | None = None
    user: str = ""
    tty: bool = False
    interactive: bool = False
    detach: bool = False  # exec -d: return once the command runs; a process of ours waits for it
    privileged: bool = False  # exec --privileged: every capability (the container's seccomp stays)
    detach_keys: bytes = b"\x10\x11"  # exec -it: typed, they leave the command running (docker's ctrl-p,ctrl-q)


DETACHED = -1  # exec_in's answer when the user typed the detach keys


def not_running(container_id: str) -> UserError:
    return UserError(f"container {container_id} is not running")


def exec_in(ctx: Context, ref: str, opts: ExecOptions) -> int:
    """Run the command in the container; its exit code."""
    view = queries.get(ctx.conn, ref)
    judge(view, "exec", ref=ref)
    spec = view.config["spec"]
    try:
        namespaces = nsenter.open_namespaces(view.row["pid"], view.row["pid_start"])
    except nsenter.ExecError:
        raise not_running(view.id) from None
    env: dict[str, str] = {}
    for item in [*spec["env"], *opts.env]:
        key, _, value = item.partition("=")
        env[key] = value
    if opts.tty:
        env.setdefault("TERM", "xterm")
    exec_spec = nsenter.ExecSpec(
        argv=opts.argv,
        env=[f"{k}={v}" for k, v in env.items()],
        workdir=opts.workdir or spec.get("workdir") or "/",
        user=opts.user or spec.get("user", ""),
        tty=opts.tty,
        interactive=opts.interactive,
        cgroups=spec.get("cgroups", {}),
        security=_exec_security(spec.get("security", {}), opts.privileged),
        group_add=list(spec.get("group_add") or []),
        detach_keys=opts.detach_keys if opts.tty and opts.interactive else b"",
    )
    exec_id = naming.new_id()
    try:
        aggregate.append(ctx, view.id, [Event("exec_start", {
            "exec_id": exec_id, "argv": opts.argv, "user": opts.user, "workdir": exec_spec.workdir,
            "tty": opts.tty, "interactive": opts.interactive, "env": opts.env,
            **({"detach": True} if opts.detach else {}), **({"privileged": True} if opts.privileged else {}),
            "pid": view.row["pid"], "pid_start": view.row["pid_start"]})])
    except BaseException:
        nsenter.close_all(namespaces)
        raise
    # SQLite must not be carried across fork; the connection reopens for exec_die.
    ctx.close()
    if opts.detach:
        return _detached(ctx, view.id, exec_id, exec_spec, namespaces)
    result = nsenter.run(exec_spec, namespaces,  # closes the namespace fds
                         on_detached_exit=lambda late: _record_die(ctx, view.id, exec_id, late))
    if result.detached:
        return DETACHED
    _record_die(ctx, view.id, exec_id, result)
    if result.message:
        raise ExecFailed(f"OCI runtime exec failed: {result.message}", result.exit_code)
    return result.exit_code



def _record_die(ctx: Context, container_id: str, exec_id: str, result: nsenter.ExecResult) -> None:
    aggregate.append(ctx, container_id, [Event("exec_die", {
        "exec_id": exec_id, "exit_code": result.exit_code,
        **({"error": result.message} if result.message else {})})])


def _exec_security(profile: dict, privileged: bool) -> dict:  # type: ignore[type-arg]
    if not privileged:
        return profile
    from mydocker.core.security import CAPABILITIES

    return {**profile, "capabilities": sorted(CAPABILITIES), "capability_sets": None}


def _detached(ctx: Context, container_id: str, exec_id: str, exec_spec: nsenter.ExecSpec,
              namespaces: dict[str, int]) -> int:
    """exec -d: a session of its own waits for the command and records exec_die;
    we wait only until the command exec'd (or could not: docker's words and code)."""
    import os

    started_r, started_w = os.pipe2(os.O_CLOEXEC)
    if os.fork() == 0:
        code = 0
        try:
            os.close(started_r)
            os.setsid()
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            keep = {0, 1, 2, started_w, *namespaces.values()}
            for fd in [int(name) for name in os.listdir("/proc/self/fd")]:
                if fd not in keep:  # the caller's pipes: `id=$(mydocker exec -d ...)` must return
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            # -d -t: the command gets its pty, whose output nobody reads (docker's)
            exec_spec.interactive = False

            def started(failure: nsenter.ExecResult | None) -> None:
                os.write(started_w, f"{failure.exit_code} {failure.message}".encode() if failure else b"ok")
                os.close(started_w)

            _record_die(ctx, container_id, exec_id, nsenter.run(exec_spec, namespaces, started))
        except BaseException:  # noqa: BLE001 - a forked child must never unwind into the caller
            code = 1
        os._exit(code)
    os.close(started_w)
    nsenter.close_all(namespaces)
    # one read, not to EOF: the exec helper holds the pipe as long as the command runs
    answer = os.read(started_r, 65536).decode()
    os.close(started_r)
    if answer == "ok":
        return 0
    status, _, message = answer.partition(" ")
    raise ExecFailed(f"OCI runtime exec failed: {message or 'exec did not start'}", int(status) if status else 126)
