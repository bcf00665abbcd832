"""Test-only fault injection: stop dead between two side effects.

MYDOCKER_CRASH_AT=name[,name...] makes crash(name) SIGKILL the calling process,
which is what a power cut or `kill -9` looks like to the rest of the system. The
crash-recovery tests use it to prove every half-done command can be finished
or undone. Unset (always, outside tests) it costs one dict lookup.
"""

from __future__ import annotations

import os
import signal


def crash(point: str) -> None:
    wanted = os.environ.get("MYDOCKER_CRASH_AT")
    if wanted and point in wanted.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
