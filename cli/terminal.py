"""The user's terminal while a container is attached to it."""

from __future__ import annotations

import os
import signal
import sys

from mydocker.core.ptyrelay import DetachKeys, raw_mode

__all__ = ["DEFAULT_DETACH_KEYS", "DetachKeys", "parse_detach_keys", "raw_mode", "wait_monitor"]


DETACHED = -1  # wait_monitor's answer when the user typed the detach keys


def wait_monitor(monitor_pid: int, detach_fd: int = -1) -> int:
    """Wait for the (attached) monitor; its exit code is the container's, or
    DETACHED when the user typed the detach keys (the container runs on).

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
    if detach_fd >= 0:
        # b"D": detached; EOF: the monitor ended (or became the waiter, which
        # happens only after a detach)
        detached = os.read(detach_fd, 1) == b"D"
        os.close(detach_fd)
        if detached:
            return DETACHED
    _, status = os.waitpid(monitor_pid, 0)
    sys.stdout.flush()
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_CTRL = {**{chr(c): c - ord("a") + 1 for c in range(ord("a"), ord("z") + 1)},
         "@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def use_detach_keys(text: str | None) -> None:
    """--detach-keys of run / start: the monitor (forked after this) reads it."""
    from mydocker.core import ptyrelay

    if text is not None:
        ptyrelay.detach_sequence = parse_detach_keys(text)


def parse_detach_keys(text: str) -> bytes:
    """docker's detach key sequence: comma-separated `ctrl-<a-z@[\\]^_>` or single characters."""
    from mydocker.cli.errors import CliError

    out = bytearray()
    for key in text.split(","):
        lower = key.lower()
        if len(key) == 1 and key.isascii():
            out.append(ord(key))
        elif lower.startswith("ctrl-") and len(lower) == 6 and lower[5] in _CTRL:
            out.append(_CTRL[lower[5]])
        else:
            raise CliError(f"Invalid detach keys ({text}) provided")
    return bytes(out)
