"""system check / prune: host objects of this root that the log does not know."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from core import cgroups
from statemachine import queries
from statemachine.context import Context
from statemachine.reconcile import survey


def _expected_cgroups(ctx: Context) -> set[str]:
    expected: set[str] = set()
    for view in queries.list_all(ctx.conn, include_stopped=False):
        expected.update(view.config["spec"]["cgroups"].values())
    return expected


def leaks(ctx: Context) -> list[tuple[str, str]]:
    """[(kind, what)] of this root's objects that no live container accounts for."""
    found: list[tuple[str, str]] = []
    expected = _expected_cgroups(ctx)
    busy_ids = {row[0] for row in ctx.conn.execute("SELECT id FROM containers WHERE state != 'running'")}
    for directory in cgroups.find_ours(ctx.tag):
        short = directory.rsplit("-", 1)[-1]
        starting = any(cid.startswith(short) for cid in busy_ids) and not os.listdir(directory) == []
        if directory not in expected and not starting:
            found.append(("cgroup", directory))
    known = {row[0] for row in ctx.conn.execute("SELECT id FROM containers")}
    containers = Path(ctx.root) / "containers"
    if containers.is_dir():
        found += [("directory", str(d)) for d in containers.iterdir() if d.name not in known]
    root = os.path.abspath(ctx.root)
    with open("/proc/mounts") as f:
        found += [("mount", line.split()[1]) for line in f if line.split()[1].startswith(root + "/")]
    return found


def check(ctx: Context) -> dict[str, Any]:
    return {
        "running": [v.name for v in queries.list_all(ctx.conn, include_stopped=False)],
        "findings": [f"{f.name} ({f.container_id[:12]}): {f.problem}" for f in survey(ctx.conn)],
        "leaks": [f"{kind} {what}" for kind, what in leaks(ctx)],
    }


def prune(ctx: Context) -> dict[str, Any]:
    from core import syscalls

    removed = leaks(ctx)
    for kind, what in removed:
        if kind == "cgroup":
            try:
                cgroups.remove({"leak": what})
            except cgroups.CgroupError:
                pass
        elif kind == "directory":
            shutil.rmtree(what, ignore_errors=True)
        elif kind == "mount":
            syscalls.umount(what, syscalls.MNT_DETACH)
    report = check(ctx)
    report["leaks"] = [f"{kind} {what}" for kind, what in removed]
    return report
