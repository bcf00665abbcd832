"""What a restart policy's sleeper (core.waiter) execs once its backoff is over,
in its own process: `python -m mydocker.statemachine.container_restart ROOT ID PID`.

It asks the machine for `policy_restart` under the container's lock; only the
sleeper the log names (PID) is heard, so a sleeper that a stop, kill, rm or a
later run made stale ends here quietly. The launch forks the new run's monitor
as `start` does; this process then exits.
"""

from __future__ import annotations

import sys

from mydocker.statemachine import aggregate
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import UserError
from mydocker.statemachine.monitorhooks import effects_for


def main(argv: list[str]) -> int:
    root, container_id, sleeper = argv[0], argv[1], int(argv[2])
    ctx = Context(root, "restart policy")
    try:
        aggregate.locked(ctx, container_id, lambda agg: agg.handle("policy_restart", sleeper=sleeper),
                         effects_for(ctx))
    except UserError:
        return 0  # stopped, removed or started by a user meanwhile: nothing left to do
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
