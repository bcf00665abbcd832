"""The one writer of container streams: load -> machine.handle -> append.

Commands hold the container's lock, so between their load and their append only
the monitor (start, die), the watcher (die), exec and the network code
(history events) can write; append() retries at the new version and asks the
machine whether what was judged earlier is still news there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from mydocker.core import locks
from mydocker.statemachine import queries
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import Conflict, NoSuchContainer
from mydocker.statemachine.machine import Container, Effects, still_due
from mydocker.statemachine.queries import ContainerView
from mydocker.store.events import ConcurrencyError, Event
from mydocker.store.events import append as store_append

RETRIES = 50


def last_event(ctx: Context, view: ContainerView) -> str | None:
    row = ctx.conn.execute("SELECT type FROM events WHERE stream_id = ? AND version = ?",
                           (view.id, view.version)).fetchone()
    return row[0] if row else None


def load(ctx: Context, container_id: str, effects: Effects) -> Container | None:
    """The container's machine at its current version, recording through append()."""
    view = queries.by_id(ctx.conn, container_id)
    if view is None:
        return None
    return Container(view, effects, record=lambda events: append(ctx, container_id, events),
                     last_event=last_event(ctx, view))


def append(ctx: Context, container_id: str, events: list[Event],
           keep: Callable[[ContainerView], bool] | None = None) -> None:
    """Append at the stream's newest version, retrying when someone else wrote first.

    keep: a caller's own test of the reloaded row (disconnect: is that endpoint
    still this run's?); without it every event the machine still finds due goes."""
    for _ in range(RETRIES):
        current = queries.by_id(ctx.conn, container_id)
        if current is None or (keep is not None and not keep(current)):
            return
        todo = [e for e in events if still_due(e, current)]
        if not todo:
            return
        for event in todo:
            event.actor = event.actor or ctx.actor()
        try:
            store_append(ctx.conn, "container", container_id, current.version, todo)
            return
        except ConcurrencyError:
            time.sleep(0.001)
    raise Conflict(f"container {container_id} is changing too fast to record {events[0].type}")


def locked(ctx: Context, ref: str, action: Callable[[Container], Any], effects: Effects) -> Any:
    """What every command on an existing container does: resolve ref, hold the
    container's lock, load it under the lock, run action (which calls handle),
    append what it left pending."""
    view = queries.get(ctx.conn, ref)
    with locks.hold(ctx.root, view.id):
        machine = load(ctx, view.id, effects)
        if machine is None:
            # Removed while we waited: our open may have made its lock file anew after
            # rm forgot it (the soak hammer found such files left behind).
            locks.forget(ctx.root, view.id)
            raise NoSuchContainer(ref)
        result = action(machine)
        append(ctx, view.id, machine.pending)
        machine.pending = []
        if machine.ended():
            locks.forget(ctx.root, view.id)
        return result


def record(ctx: Context, container_id: str, trigger: str, **kwargs: Any) -> None:
    """For the rows that only record (health checks): load, handle, append, and on
    a race judge again at the new version, so nothing is appended that the table
    would refuse there. Takes no lock: a probe every few seconds must not queue
    behind a slow stop. IllegalTransition if the table refuses."""
    for _ in range(RETRIES):
        view = queries.by_id(ctx.conn, container_id)
        if view is None:
            raise NoSuchContainer(container_id)
        machine = Container(view, cast(Effects, None), last_event=last_event(ctx, view))
        machine.handle(trigger, **kwargs)
        for event in machine.pending:
            event.actor = event.actor or ctx.actor()
        try:
            store_append(ctx.conn, "container", container_id, view.version, machine.pending)
            return
        except ConcurrencyError:
            time.sleep(0.001)
    raise Conflict(f"container {container_id} is changing too fast to record {trigger}")


def transact(ctx: Context, container_id: str, trigger: str, effects: Effects, **kwargs: Any) -> Container:
    """Load, handle the trigger (IllegalTransition if the table refuses), append
    what it left pending. Returns the machine: its `state` and `result`."""
    aggregate = load(ctx, container_id, effects)
    if aggregate is None:
        raise NoSuchContainer(container_id)
    aggregate.handle(trigger, **kwargs)
    append(ctx, container_id, aggregate.pending)
    aggregate.pending = []
    return aggregate
