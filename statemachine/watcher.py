"""The watcher: records the exit of a container whose monitor was lost.

Started by reconcile as `python -m statemachine.watcher ROOT ID PID PID_START`.
Only a process's parent can read its exit status, so the `die` it records says
the status is unknown; an OOM kill is still seen through the memory cgroup.
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
        # pid: only the run it watched; a die already recorded is the machine's no-op
        aggregate.transact(ctx, container_id, "die", effects_for(ctx), pid=pid,
                           exit={"exit_code": UNKNOWN_EXIT, "oom_killed": oom,
                                 "reason": "exited while unmonitored (status unknown)"})
    except NoSuchContainer:
        pass  # removed meanwhile
    finally:
        ctx.close()


if __name__ == "__main__":
    watch(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
