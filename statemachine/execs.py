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
        security=spec.get("security", {}),
    )
    exec_id = naming.new_id()
    try:
        aggregate.append(ctx, view.id, [Event("exec_start", {
            "exec_id": exec_id, "argv": opts.argv, "user": opts.user, "workdir": exec_spec.workdir,
            "tty": opts.tty, "interactive": opts.interactive, "env": opts.env,
            "pid": view.row["pid"], "pid_start": view.row["pid_start"]})])
    except BaseException:
        nsenter.close_all(namespaces)
        raise
    # SQLite must not be carried across fork; the connection reopens for exec_die.
    ctx.close()
    result = nsenter.run(exec_spec, namespaces)  # closes the namespace fds
    aggregate.append(ctx, view.id, [Event("exec_die", {
        "exec_id": exec_id, "exit_code": result.exit_code,
        **({"error": result.message} if result.message else {})})])
    if result.message:
        raise ExecFailed(f"OCI runtime exec failed: {result.message}", result.exit_code)
    return result.exit_code

