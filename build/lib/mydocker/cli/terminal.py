"""The user's terminal while a container is attached to it."""

from __future__ import annotations

import os
import signal
import sys
import termios
import tty
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def raw_mode(enabled: bool) -> Iterator[None]:
    """Raw mode on stdin (keys go to the container's pty untouched), restored after."""
    if not enabled or not os.isatty(0):
        yield
        return
    saved = termios.tcgetattr(0)
    try:
        tty.setraw(0)
        yield
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


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
