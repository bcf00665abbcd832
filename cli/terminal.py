"""The user's terminal while a container is attached to it."""

from __future__ import annotations

import os
import signal
import sys

from mydocker.core.ptyrelay import raw_mode

__all__ = ["DEFAULT_DETACH_KEYS", "DetachKeys", "parse_detach_keys", "raw_mode", "wait_monitor"]


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


DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_CTRL = {**{chr(c): c - ord("a") + 1 for c in range(ord("a"), ord("z") + 1)},
         "@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


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


class DetachKeys:
    """Watches the typed bytes for the detach sequence. A partial match is held
    back until the next key decides: the sequence itself never reaches the
    container, anything else does, in order."""

    def __init__(self, sequence: bytes) -> None:
        self.sequence = sequence
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to send on, whether the sequence was completed)."""
        out = bytearray()
        for byte in data:
            key = bytes([byte])
            if not (self.sequence and self.sequence.startswith(self.held + key)):
                out += self.held  # not the sequence after all: what was held goes on
                self.held = b""
                if not (self.sequence and self.sequence.startswith(key)):
                    out += key
                    continue
            self.held += key
            if self.held == self.sequence:
                self.held = b""
                return bytes(out), True
        return bytes(out), False
