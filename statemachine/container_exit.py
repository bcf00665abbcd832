"""The end of a detached container's monitor: what core.waiter execs, in the
monitor's own process, when the container has exited.

`python -m mydocker.statemachine.container_exit ROOT ID PID WAIT_STATUS`: read the
OOM flag (core.exits), then record `die`, release the cgroups, undo the network and
honour --rm exactly as the monitor always has (RecordingHooks.exited).

A `stop`, `rm -f` or `restart` that was waiting for this exit has usually recorded
the `die` already, from the status the waiter published before it exec'd this
(core.exitstatus), and released what the container held: the die row then
finds the container stopped (or another run, or gone) and records nothing, and
nothing here may release cgroups on its own, since a restart may already have made
them again for its new run.
"""

from __future__ import annotations

import sys

from mydocker.core import exits
from mydocker.statemachine import queries
from mydocker.statemachine.context import Context
from mydocker.statemachine.effects import spec_of
from mydocker.statemachine.monitorhooks import RecordingHooks


def main(argv: list[str]) -> int:
    root, container_id, pid, status = argv[0], argv[1], int(argv[2]), int(argv[3])
    ctx = Context(root, "monitor")
    try:
        view = queries.by_id(ctx.conn, container_id)
    finally:
        ctx.close()
    if view is None:
        return 0  # removed meanwhile: whoever removed it released everything
    # the OOM flag, while the cgroups are there: the die row releases them (only if it records the die)
    info = exits.exit_info(status, b"", spec_of(view).cgroups)
    hooks = RecordingHooks(root, view)
    hooks.pid = pid
    hooks.exited(info)
    return info.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
