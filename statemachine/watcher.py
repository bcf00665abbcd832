"""The watcher: records the exit of a container whose monitor was lost.

Started by reconcile as `python -m statemachine.watcher ROOT ID PID PID_START`.
Only a process's parent can read its exit status, so the `die` it records says
the status is unknown (255: a failure to `on-failure`); an OOM kill is still seen
through the memory cgroup. The restart policy applies as after a monitor's exit.
"""

from __future__ import annotations

import sys

from mydocker.core import cgroups, procinfo
from mydocker.statemachine import aggregate, queries
from mydocker.statemachine.context import Context
from mydocker.statemachine.effects import spec_of
from mydocker.statemachine.errors import NoSuchContainer
from mydocker.statemachine.monitorhooks import effects_for
from mydocker.statemachine.reconcile import UNKNOWN_EXIT


def watch(root: str, container_id: str, pid: int, pid_start: int) -> None:
    if procinfo.is_same_process(pid, pid_start):
        procinfo.wait_exit(pid, None)
    ctx = Context(root, "watcher")
    try:
        current = queries.by_id(ctx.conn, container_id)
        if current is None:
            return
        oom = cgroups.oom_killed(spec_of(current).cgroups)
        effects = effects_for(ctx)
        try:
            # pid: only the run it watched; a die already recorded is the machine's no-op.
            # restartable: the watcher stands in for the monitor's exit path, so the
            # restart policy goes on applying (the same row, the same sleeper)
            aggregate.transact(ctx, container_id, "die", effects, pid=pid, restartable=True,
                               exit={"exit_code": UNKNOWN_EXIT, "oom_killed": oom,
                                     "reason": "exited while unmonitored (status unknown)"})
        finally:
            effects.let_sleepers_go()
    except NoSuchContainer:
        pass  # removed meanwhile
    finally:
        ctx.close()


if __name__ == "__main__":
    watch(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
