"""The end of a detached container's monitor: what core.waiter execs, in the
monitor's own process, when the container has exited.

`python -m mydocker.statemachine.container_exit ROOT ID PID WAIT_STATUS`: read the
OOM flag and release the cgroups (core.exits.finish), then record `die`, undo the
network and honour --rm exactly as the monitor always has (RecordingHooks.exited).
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
    info = exits.finish(status, b"", spec_of(view).cgroups)
    hooks = RecordingHooks(root, view)
    hooks.pid = pid
    hooks.exited(info)
    return info.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
