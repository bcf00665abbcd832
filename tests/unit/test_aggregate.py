"""statemachine.aggregate, the one writer of container streams, on a real store:
load -> machine.handle -> append, retrying at the newer version and asking the
machine whether what it judged earlier is still news there."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mydocker.statemachine.aggregate as aggregate
import pytest
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import IllegalTransition, NoSuchContainer
from mydocker.store.db import connect
from mydocker.store.events import ConcurrencyError, Event, append, read_stream

from tests.fakes import CONTAINER_ID, FakeEffects, create_payload, die_payload, start_payload


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    context = Context(str(tmp_path / "state"), "test", _conn=connect(tmp_path / "state"))
    yield context
    context.close()


def types(conn: sqlite3.Connection) -> list[str]:
    return [e.type for e in read_stream(conn, CONTAINER_ID)]


def state(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT state FROM containers WHERE id = ?", (CONTAINER_ID,)).fetchone()
    return row[0] if row else None


def running(ctx: Context, pid: int = 4242) -> None:
    append(ctx.conn, "container", CONTAINER_ID, 0, [Event("create", create_payload("happy_turing"))])
    append(ctx.conn, "container", CONTAINER_ID, 1, [Event("start", start_payload(pid))])


def test_transact_handles_and_appends_what_the_machine_left(ctx: Context) -> None:
    running(ctx)
    effects = FakeEffects()
    machine = aggregate.transact(ctx, CONTAINER_ID, "die", effects, exit=die_payload(3), pid=4242)
    assert machine.state == "stopped" == state(ctx.conn)
    assert types(ctx.conn) == ["create", "start", "die"]
    assert effects.calls.names() == ["release"]
    assert read_stream(ctx.conn, CONTAINER_ID)[-1].actor["command"] == "test"  # who acted, on every event


def test_the_die_of_an_earlier_run_and_a_second_die_append_nothing(ctx: Context) -> None:
    running(ctx)
    aggregate.transact(ctx, CONTAINER_ID, "die", FakeEffects(), exit=die_payload(3), pid=1)  # not this run
    assert types(ctx.conn) == ["create", "start"]
    aggregate.transact(ctx, CONTAINER_ID, "die", FakeEffects(), exit=die_payload(3))
    aggregate.transact(ctx, CONTAINER_ID, "die", FakeEffects(), exit=die_payload(4))  # the watcher, late
    assert types(ctx.conn) == ["create", "start", "die"]


def test_an_illegal_trigger_appends_nothing(ctx: Context) -> None:
    running(ctx)
    with pytest.raises(IllegalTransition):
        aggregate.transact(ctx, CONTAINER_ID, "abort_start", FakeEffects())
    assert types(ctx.conn) == ["create", "start"]


def test_transact_on_a_missing_container(ctx: Context) -> None:
    with pytest.raises(NoSuchContainer):
        aggregate.transact(ctx, CONTAINER_ID, "die", FakeEffects(), exit=die_payload())


def test_finish_removal_needs_the_destroying_intent_in_the_log(ctx: Context) -> None:
    running(ctx)
    aggregate.transact(ctx, CONTAINER_ID, "die", FakeEffects(), exit=die_payload(0))
    with pytest.raises(IllegalTransition):
        aggregate.transact(ctx, CONTAINER_ID, "finish_removal", FakeEffects())
    aggregate.append(ctx, CONTAINER_ID, [Event("destroying", {"cgroups": {}, "directory": ""})])
    effects = FakeEffects()
    aggregate.transact(ctx, CONTAINER_ID, "finish_removal", effects)
    assert effects.calls.names() == ["teardown"]
    assert types(ctx.conn)[-2:] == ["destroying", "destroy"] and state(ctx.conn) is None


def test_append_retries_and_drops_a_die_the_monitor_recorded_first(ctx: Context,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """stop's pending [die, stop]: the monitor's die lands between our load and
    our append; the retry keeps stop and drops our die (recorded once)."""
    running(ctx)
    real = aggregate.store_append
    calls: list[int] = []

    def racing(conn: sqlite3.Connection, kind: str, sid: str, version: int, events: list[Event]) -> Any:
        calls.append(version)
        if len(calls) == 1:
            real(conn, kind, sid, version, [Event("die", die_payload(0, reason=None))])  # the monitor
            raise ConcurrencyError("changed underneath us")
        return real(conn, kind, sid, version, events)

    monkeypatch.setattr(aggregate, "store_append", racing)
    aggregate.append(ctx, CONTAINER_ID, [Event("die", die_payload(137, reason="monitor lost")),
                                         Event("stop", {"timeout": 1.0})])
    assert calls == [2, 3]
    assert types(ctx.conn) == ["create", "start", "die", "stop"]
    assert [e.payload for e in read_stream(ctx.conn, CONTAINER_ID)][2]["exit_code"] == 0


def test_append_keeps_nothing_the_callers_test_refuses(ctx: Context) -> None:
    running(ctx)
    aggregate.append(ctx, CONTAINER_ID, [Event("disconnect", {})], keep=lambda view: view.row["endpoint"] is not None)
    assert types(ctx.conn) == ["create", "start"]


def test_rm_f_whose_monitor_is_lost_logs_the_death_before_destroying(ctx: Context) -> None:
    running(ctx)
    # the monitor is gone, so the kill for removal reports the exit itself
    aggregate.transact(ctx, CONTAINER_ID, "remove", FakeEffects(kill_died=die_payload(137)), force=True)
    assert types(ctx.conn) == ["create", "start", "kill", "die", "destroying", "destroy"]
    assert state(ctx.conn) is None  # the projection forgets a removed container


# --- record: the rows that only record (health checks), judged again on a race -----------


HEALTHY = {"Status": "healthy", "FailingStreak": 0, "Log": []}


def test_record_appends_a_probes_events_for_a_running_container(ctx: Context) -> None:
    running(ctx)
    aggregate.record(ctx, CONTAINER_ID, "health_probe", pid=4242, exec_id="e1", argv=["true"])
    aggregate.record(ctx, CONTAINER_ID, "health_probe_exit", exec_id="e1", exit_code=0)
    aggregate.record(ctx, CONTAINER_ID, "health_status", pid=4242, health=HEALTHY)
    assert types(ctx.conn) == ["create", "start", "exec_start", "exec_die", "health_status"]
    row = ctx.conn.execute("SELECT health FROM containers WHERE id = ?", (CONTAINER_ID,)).fetchone()
    assert '"healthy"' in row[0]


def test_record_judges_again_when_the_container_died_meanwhile(ctx: Context,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe's result was judged on the running container; the monitor's die
    got in first: at the new version the table refuses, and nothing is appended."""
    running(ctx)
    real_append = aggregate.store_append
    raced = []

    def die_first(conn: sqlite3.Connection, *args: Any, **kwargs: Any) -> None:
        if not raced:
            raced.append(1)
            real_append(conn, "container", CONTAINER_ID, 2, [Event("die", die_payload(0))])
        real_append(conn, *args, **kwargs)

    monkeypatch.setattr(aggregate, "store_append", die_first)
    with pytest.raises(IllegalTransition):
        aggregate.record(ctx, CONTAINER_ID, "health_status", pid=4242, health=HEALTHY)
    assert types(ctx.conn) == ["create", "start", "die"]
    # the probe's exec_die is history, and still goes
    aggregate.record(ctx, CONTAINER_ID, "health_probe_exit", exec_id="e1", exit_code=137)
    assert types(ctx.conn)[-1] == "exec_die"


def test_record_refuses_a_probe_of_a_paused_container_and_of_an_earlier_run(ctx: Context) -> None:
    running(ctx)
    with pytest.raises(IllegalTransition):
        aggregate.record(ctx, CONTAINER_ID, "health_status", pid=1, health=HEALTHY)
    append(ctx.conn, "container", CONTAINER_ID, 2, [Event("pause", {})])
    with pytest.raises(IllegalTransition):
        aggregate.record(ctx, CONTAINER_ID, "health_probe", pid=4242, exec_id="e1", argv=["true"])
    assert types(ctx.conn) == ["create", "start", "pause"]
