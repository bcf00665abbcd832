"""The user's terminal while a container is attached to it."""

from __future__ import annotations

import os
import signal
import sys

from mydocker.core.ptyrelay import raw_mode

__all__ = ["raw_mode", "wait_monitor"]


def wait_monitor(monitor_pid: int) -> int:
    """Wait for the (attached) monitor; its exit code is the container's.

    Terminal signals (^C, ^\\, resize) reach the monitor directly: it shares our
    process group. Signals sent to us alone are passed on to it.
    """
    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(monitor_pid, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, forward)
    _, status = os.waitpid(monitor_pid, 0)
    sys.stdout.flush()
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code
