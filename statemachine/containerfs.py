"""A container's root directory for `cp`, whatever its state.

A live container (running or paused) is reached through /proc/PID/root, its
volumes included. A created or stopped one has no mounts anywhere: its layers
and upper dir are mounted as an overlay in a child's private mount namespace,
under the container's lock so no `start` mounts the same upper dir meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from mydocker.core import copy, locks, procinfo
from mydocker.statemachine import queries
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import UserError
from mydocker.statemachine.machine import alive


def with_root(ctx: Context, ref: str, action: Callable[[int], Any]) -> None:
    """action(root_fd) with the container's root; CopyError becomes UserError."""
    view = queries.get(ctx.conn, ref)
    try:
        if alive(view) and _run_live(view, action):
            return
        with locks.hold(ctx.root, view.id):
            current = queries.by_id(ctx.conn, view.id)
            if current is None:
                locks.forget(ctx.root, view.id)  # our open may have made its lock file anew
                raise queries.NoSuchContainer(ref)
            if alive(current) and _run_live(current, action):
                return
            config = current.config
            directory = config["directory"]
            upper, work, scratch = (os.path.join(directory, d) for d in ("upper", "work", "cp"))
            for d in (upper, work, scratch):
                os.makedirs(d, mode=0o700, exist_ok=True)
            ctx.close()  # never carry SQLite across fork
            try:
                copy.in_overlay(config["spec"]["layers"], upper, work, scratch, action)
            finally:
                os.rmdir(scratch)
    except copy.CopyError as exc:
        raise UserError(str(exc)) from None


def _run_live(view: queries.ContainerView, action: Callable[[int], Any]) -> bool:
    pid = view.row["pid"]
    if not procinfo.is_same_process(pid, view.row["pid_start"]):
        return False
    root_fd = copy.live_root(pid)
    try:
        action(root_fd)
    finally:
        os.close(root_fd)
    return True
