"""Who acts on an OCI runtime's container: the context of mydocker-runc's
commands, whose events name the runtime and the caller that ran it."""

from __future__ import annotations

import os
from typing import Any

from mydocker.statemachine.context import Context


class OciContext(Context):
    """Events name who asked: this process, and the caller that ran it (conmon,
    containerd's shim, a shell) by pid, uid and command line."""

    def actor(self) -> dict[str, Any]:
        return {**super().actor(), "via": "oci-runtime", "caller": caller()}


def caller() -> dict[str, Any]:
    ppid = os.getppid()
    try:
        with open(f"/proc/{ppid}/cmdline", "rb") as f:
            cmdline = [part.decode(errors="replace") for part in f.read().split(b"\0") if part]
        uid = os.stat(f"/proc/{ppid}").st_uid
    except OSError:
        cmdline, uid = [], -1
    return {"pid": ppid, "uid": uid, "cmdline": cmdline}
