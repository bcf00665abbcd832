"""`mydocker system restore`: what a daemon would do at boot, done by a command
that the host's init runs (podman's podman-restart.service does the same).

Recovery has recorded every death the reboot caused before this runs (every
command reconciles first); then each container the machine lets `boot_restore`
(stopped, and its policy says so: restart_policy.at_boot) is started again, as
dockerd does when it comes back up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from mydocker.statemachine import aggregate
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import UserError
from mydocker.statemachine.machine import Container, may
from mydocker.statemachine.queries import ContainerView

if TYPE_CHECKING:
    from mydocker.core.monitor import LaunchResult


def restore(ctx: Context) -> tuple[list[str], list[tuple[str, str]]]:
    """Start what the policies ask for: (ids started, [(id, why not)])."""
    from mydocker.statemachine.monitorhooks import effects_for

    views = [ContainerView(dict(r)) for r in ctx.conn.execute("SELECT * FROM containers ORDER BY created_at, id")]
    started, failed = [], []
    for cid in [view.id for view in views if may(view, "boot_restore")]:
        def boot_restore(agg: Container) -> LaunchResult | None:
            if not agg.may_boot_restore():  # type: ignore[attr-defined]
                return None  # started or changed by someone else meanwhile: not ours to do
            return cast("LaunchResult", agg.handle("boot_restore"))

        try:
            result = aggregate.locked(ctx, cid, boot_restore, effects_for(ctx))
        except UserError as exc:  # removed meanwhile
            failed.append((cid, str(exc)))
            continue
        if result is None:
            continue
        if not result.started:
            failed.append((cid, result.message))
        else:
            started.append(cid)
    return started, failed
