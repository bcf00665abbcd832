"""One health probe: what the lean waiter (core.waiter's health timer) runs every
interval, as a short-lived process of its own:
`python -m mydocker.statemachine.health_check ROOT ID`.

It runs the check's command inside the running container (the exec path's
namespaces and cgroups, core.nsenter), gives up waiting after the timeout (exit -1,
docker's words), and keeps State.Health in the container's directory (health.json,
replaced atomically). The log gets what docker's shows: each probe's exec_start and
exec_die, and a `health_status` only when the status changes (what `ps`, its
filter and `events` read). The machine judges each: a running container of the
same run only (statemachine.machine's health rows).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
from datetime import UTC, datetime
from typing import Any

from mydocker.statemachine import aggregate, health, naming, queries
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import UserError
from mydocker.statemachine.queries import ContainerView

STATE_FILE = health.STATE_FILE
read_state = health.read_state


class _Timeout(Exception):
    pass


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _write_state(view: ContainerView, state: dict[str, Any]) -> None:
    directory = view.config["directory"]
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".health.")
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": view.row["pid"], "health": state}, f)
    os.replace(tmp, os.path.join(directory, STATE_FILE))


def _probe(view: ContainerView, argv: list[str], timeout_s: float) -> tuple[int, str, bool]:
    """(exit code, output, ended) of argv run in the container; (-1, docker's
    words, False) on timeout: docker leaves such a probe running, and it dies with
    the container."""
    from mydocker.core import nsenter

    spec = view.config["spec"]
    namespaces = nsenter.open_namespaces(view.row["pid"], view.row["pid_start"])
    exec_spec = nsenter.ExecSpec(argv=argv, env=spec["env"], workdir=spec.get("workdir") or "/",
                                 user=spec.get("user", ""), cgroups=spec.get("cgroups", {}),
                                 security=spec.get("security", {}))
    out = tempfile.TemporaryFile()
    saved = os.dup(1), os.dup(2)
    os.dup2(out.fileno(), 1)
    os.dup2(out.fileno(), 2)

    def expire(_signum: int, _frame: object) -> None:
        raise _Timeout

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        result = nsenter.run(exec_spec, namespaces)
        code = result.exit_code
    except _Timeout:
        return -1, f"Health check exceeded timeout ({health.go_duration(int(timeout_s * health.SECOND))})", False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
    out.seek(0)
    text = out.read(health.OUTPUT_LIMIT).decode("utf-8", "replace")
    if result.message:
        text = text or result.message
    return code, text, True


def main(argv: list[str]) -> int:
    root, container_id = argv[0], argv[1]
    ctx = Context(root, "health check")
    try:
        view = queries.by_id(ctx.conn, container_id)
        check = health.effective(view.config) if view is not None else None
        if view is None or check is None:
            return 0
        command = health.probe_argv(check["Test"])
        exec_id = naming.new_id()
        run = view.row["pid"]  # the run probed: a result counts for it only
        try:
            # docker probes through exec: exec_start ... exec_die in the log, as `docker events` shows
            aggregate.record(ctx, container_id, "health_probe", pid=run, exec_id=exec_id, argv=command)
        except UserError:
            return 0  # paused, stopped or removed meanwhile: docker's health monitor probes no more
        ctx.close()  # nothing to write while the probe runs; SQLite is not carried across fork
        start = _now()
        try:
            code, output, ended = _probe(view, command, check["Timeout"] / health.SECOND)
        except Exception as exc:  # noqa: BLE001 - a probe that cannot run is a failed probe, as docker's
            code, output, ended = 1, str(exc), True
        in_start_period = _seconds_since(view.row.get("started_at")) < check["StartPeriod"] / health.SECOND
        before = read_state(view)
        after = health.after_probe(before, check, code, output, start, _now(), in_start_period)
        _write_state(view, after)
        try:
            if ended:
                aggregate.record(ctx, container_id, "health_probe_exit", exec_id=exec_id, exit_code=code)
            if after["Status"] != (before or {}).get("Status", "starting"):
                aggregate.record(ctx, container_id, "health_status", pid=run, health=after)
        except UserError:
            pass  # removed, stopped, paused or restarted meanwhile: docker drops a cancelled probe's result
        return 0
    finally:
        ctx.close()


def _seconds_since(stamp: str | None) -> float:
    from mydocker.statemachine.restart_policy import seconds_since

    return seconds_since(stamp)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
