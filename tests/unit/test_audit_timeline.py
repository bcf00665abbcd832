"""The timeline's reading of how a container ended, and its geometry, for the cases
the integration test's five containers do not show (restarts, unwatched deaths,
never started, a log of one instant)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mydocker.cli.audit_site import timeline


def row(name: str, **kw: object) -> dict:
    base = {"container_id": name * 8, "name": name, "image": "busybox", "created_at": "2026-11-28T03:00:00.000000Z",
            "first_started_at": None, "last_start_version": None, "last_die_version": None, "last_died_at": None,
            "last_die": None, "removed_at": None}
    return {**base, **kw}


def died(version: int, at: str, **payload: object) -> dict:
    return {"last_die_version": version, "last_died_at": at, "last_die": json.dumps(payload)}


STARTED = {"first_started_at": "2026-11-28T03:00:01.000000Z", "last_start_version": 2}


def test_outcomes() -> None:
    assert timeline.outcome(row("a")) == ("created", "never started")
    assert timeline.outcome(row("b", **STARTED)) == ("running", "running")
    # started again after its last death: running, whatever that death was
    restarted = row("c", **{**STARTED, "last_start_version": 5},
                    **died(3, "2026-11-28T03:00:02.000000Z", exit_code=1, reason="exited"))
    assert timeline.outcome(restarted)[0] == "running"
    assert timeline.outcome(row("d", **STARTED, **died(3, "2026-11-28T03:00:02.000000Z", exit_code=137,
                                                        oom_killed=True, reason="oom")))[0] == "oom"
    stopped = row("e", **STARTED, **died(3, "2026-11-28T03:00:02.000000Z", exit_code=143, reason="killed by signal 15"))
    assert timeline.outcome(stopped) == ("killed", "killed (signal 15)")
    assert timeline.outcome(row("f", **STARTED, **died(3, "2026-11-28T03:00:02.000000Z", exit_code=137,
                                                        reason="monitor lost"))) == ("lost", "monitor lost")
    assert timeline.outcome(row("g", **STARTED, **died(3, "2026-11-28T03:00:02.000000Z", exit_code=0,
                                                        reason="exited"))) == ("exit0", "exit 0")


def test_layout_oldest_first_on_one_time_axis() -> None:
    rows = [  # newest first, as the page's query returns them
        row("new", created_at="2026-11-28T03:00:10.000000Z", first_started_at="2026-11-28T03:00:10.000000Z",
            last_start_version=2, **died(3, "2026-11-28T03:00:20.000000Z", exit_code=2, reason="exited"),
            removed_at="2026-11-28T03:00:20.000000Z"),
        row("old", **STARTED, **died(3, "2026-11-28T03:00:05.000000Z", exit_code=0, reason="exited")),
    ]
    layout = timeline.layout(rows, total=7, now=datetime(2026, 11, 29, tzinfo=UTC))
    old, new = layout.bars
    assert (old.name, new.name) == ("old", "new")
    assert old.y < new.y
    left, right = timeline.LABEL_WIDTH, timeline.LABEL_WIDTH + timeline.PLOT_WIDTH
    assert old.life_x1 == left and new.life_x2 == right  # the axis spans the log, not up to `now`
    assert new.run_x == left + timeline.PLOT_WIDTH / 2 and new.removed and not old.removed
    assert [key for key, *_ in layout.legend] == ["exit0", "nonzero"]
    assert (layout.shown, layout.total) == (2, 7)


def test_a_container_of_one_instant_still_has_a_bar() -> None:
    layout = timeline.layout([row("a")], total=1)
    assert layout.bars[0].run_width == timeline.MIN_BAR
    assert layout.bars[0].outcome == "created"
