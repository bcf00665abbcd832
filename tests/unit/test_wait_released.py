"""`wait` returns once the container is cleaned up, as docker's does: a monitor records
`die` first and releases after (volumes, cgroups, network, --rm), so seeing the death
in the log is not enough; wait also waits for the monitor that recorded it to finish.
A real process stands for the monitor (procinfo reads /proc); the log is a real one."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from mydocker.core import procinfo
from mydocker.statemachine import lifecycle
from mydocker.statemachine.context import Context
from mydocker.store.events import Event, append

from tests.fakes import CONTAINER_ID, create_payload, die_payload


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    ctx = Context(str(tmp_path / "root"), "test")
    yield ctx
    ctx.close()
    from mydocker.core import roottags

    roottags.unregister(ctx.root)


def _lived(ctx: Context, monitor: subprocess.Popen[bytes], code: int) -> None:
    """create, start with `monitor` as its monitor, die with `code`: as the monitor records it."""
    start = procinfo.start_time(monitor.pid)
    append(ctx.conn, "container", CONTAINER_ID, 0, [
        Event("create", create_payload("waited", CONTAINER_ID, ctx.root)),
        Event("start", {"pid": 1, "pid_start": 1, "boot_id": "boot-1", "monitor_pid": monitor.pid,
                        "monitor_start": start}),
        Event("die", die_payload(code)),
    ])


def test_wait_returns_once_the_monitor_that_recorded_the_death_is_done(ctx: Context) -> None:
    # the monitor has recorded `die` and is still releasing when wait first looks
    monitor = subprocess.Popen(["sleep", "0.5"])
    try:
        _lived(ctx, monitor, 3)
        assert lifecycle.wait(ctx, "waited") == 3
        assert monitor.poll() is not None, "wait returned while the monitor was still releasing"
    finally:
        monitor.kill()
        monitor.wait()


def test_wait_on_a_container_whose_monitor_is_long_gone_answers_at_once(ctx: Context) -> None:
    monitor = subprocess.Popen(["true"])
    monitor.wait()
    _lived(ctx, monitor, 7)
    assert lifecycle.wait(ctx, "waited") == 7
