"""OCI hooks: a program run with the container's state as JSON on its stdin.

Run by the runtime in its own namespaces (prestart, createRuntime, poststart,
poststop) or by the container's init in the container's (createContainer before
pivot_root, startContainer just before exec), with the hook's own args, env and
timeout, never through a shell.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any


class HookError(Exception):
    pass


def run(hooks: list[dict[str, Any]], state: dict[str, Any], stage: str) -> None:
    """Run each hook in order; the first that fails (non-zero, timeout, cannot
    start) raises HookError with the stage and the hook's path."""
    data = json.dumps(state).encode()
    for hook in hooks:
        path = hook["path"]
        argv = list(hook.get("args") or [path])
        timeout = hook.get("timeout")
        try:
            proc = subprocess.run(argv, executable=path, input=data, env=_env(hook.get("env")),
                                  capture_output=True, timeout=timeout, close_fds=True, cwd="/")
        except subprocess.TimeoutExpired:
            raise HookError(f"{stage} hook {path} did not finish in {timeout}s") from None
        except OSError as exc:
            raise HookError(f"{stage} hook {path}: {exc.strerror}") from None
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
            tail = f": {detail[-1]}" if detail else ""
            raise HookError(f"{stage} hook {path} exited with status {proc.returncode}{tail}")


def _env(items: list[str] | None) -> dict[str, str]:
    return dict(item.split("=", 1) for item in items or [] if "=" in item)
