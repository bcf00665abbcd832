"""`mydocker system restore`: what a daemon would do at boot, done by a command
that the host's init runs (podman's podman-restart.service does the same).

Recovery has recorded every death the reboot caused before this runs (every
command reconciles first); then each stopped container whose policy says so is
started again, as dockerd does when it comes back up: `always`, and
`unless-stopped` unless a user stopped or killed it.
"""

from __future__ import annotations

import json

from mydocker.statemachine import lifecycle
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import UserError


def wanted(conn_rows: list[tuple[str, str, int]]) -> list[str]:
    """The ids, from (id, config JSON, stopped_by_user) of stopped containers."""
    out = []
    for cid, config, by_user in conn_rows:
        name = (json.loads(config).get("restart_policy") or {}).get("Name")
        if name == "always" or (name == "unless-stopped" and not by_user):
            out.append(cid)
    return out


def restore(ctx: Context) -> tuple[list[str], list[tuple[str, str]]]:
    """Start what the policies ask for: (ids started, [(id, why not)])."""
    rows = ctx.conn.execute("SELECT id, config, stopped_by_user FROM containers WHERE state = 'stopped'"
                            " ORDER BY created_at, id").fetchall()
    started, failed = [], []
    for cid in wanted([(r[0], r[1], r[2]) for r in rows]):
        try:
            result = lifecycle.start(ctx, cid)
        except UserError as exc:  # removed or started by someone else meanwhile
            failed.append((cid, str(exc)))
            continue
        if result is not None and not result.started:
            failed.append((cid, result.message))
        else:
            started.append(cid)
    return started, failed
