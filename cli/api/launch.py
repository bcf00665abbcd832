"""The child the service runs to start a container: `python -m mydocker.cli.api.launch
ROOT ID FD attached|detached [DETACH_KEYS]`. It forks the monitor (which the threaded server must not
do), writes the start's outcome as one JSON line on FD, and, when attached, waits for
the monitor as `start -a` does: its stdio are then the attach connection's. It imports
no aiohttp; its events carry the API's actor through MYDOCKER_ACTOR."""

from __future__ import annotations

import json
import os
import signal
import sys


def main(argv: list[str]) -> int:
    from mydocker.cli.terminal import DETACHED, use_detach_keys, wait_monitor
    from mydocker.statemachine import lifecycle
    from mydocker.statemachine.context import Context
    from mydocker.statemachine.errors import UserError

    root, ref, fd, mode = argv[:4]
    use_detach_keys(argv[4] if len(argv) > 4 and argv[4] else None)  # the attach's detachKeys
    attached = mode == "attached"
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    ctx = Context(root, f"api start {ref}{' (attached)' if attached else ''}")
    with os.fdopen(int(fd), "w") as report:
        try:
            result = lifecycle.start(ctx, ref, attached=attached)
        except UserError as exc:
            report.write(json.dumps({"started": False, "error": type(exc).__name__, "message": str(exc)}) + "\n")
            return 1
        finally:
            ctx.close()
        if result is None:
            report.write(json.dumps({"started": True, "already": True}) + "\n")
            return 0
        report.write(json.dumps({"started": result.started, "message": getattr(result, "message", ""),
                                 "exit_code": getattr(result, "exit_code", None)}) + "\n")
    if not attached:
        if not result.started:
            os.waitpid(result.monitor_pid, 0)  # the monitor records the failure first
        return 0
    # a tty is the service's pty, raw already. After the detach keys the monitor becomes
    # the container's waiter and lives on: only its detach pipe says the attach is over.
    code = wait_monitor(result.monitor_pid, result.detach_fd)
    return 0 if code == DETACHED else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
