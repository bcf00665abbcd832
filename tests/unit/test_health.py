"""Health checks' pure parts: Go durations, the merge with the image's
HEALTHCHECK, what a probe's result does to State.Health, what ps shows, and the
fold of health_status."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mydocker.statemachine import health
from mydocker.store.events import Event
from mydocker.store.projections import apply_container

from tests.fakes import CONTAINER_ID, container_config, container_row

S = health.SECOND
CHECK = {"Test": ["CMD-SHELL", "true"], "Interval": S, "Timeout": S, "StartPeriod": 0, "Retries": 2}


@pytest.mark.parametrize(("text", "ns"), [("0", 0), ("1s", S), ("300ms", 300 * 10**6), ("1m30s", 90 * S),
                                          ("1.5s", 1_500_000_000), ("-1s", -S), ("2h", 7200 * S)])
def test_go_durations(text: str, ns: int) -> None:
    assert health.parse_go_duration(text) == ns


@pytest.mark.parametrize("text", ["abc", "1", "", "1x", "s"])
def test_go_duration_refusals_carry_gos_words(text: str) -> None:
    with pytest.raises(ValueError) as info:
        health.parse_go_duration(text)
    assert str(info.value) == f'time: invalid duration "{text}"'


@pytest.mark.parametrize(("ns", "text"), [(S, "1s"), (300 * 10**6, "300ms"), (90 * S, "1m30s"),
                                          (1_500_000_000, "1.5s"), (3600 * S, "1h0m0s")])
def test_go_duration_strings(ns: int, text: str) -> None:
    assert health.go_duration(ns) == text


def test_merge_takes_the_images_fields_where_the_container_set_none() -> None:
    image = {"Test": ["CMD", "/bin/check"], "Interval": 5 * S, "Retries": 7}
    assert health.merge({"Test": None, "Interval": 0, "Timeout": 2 * S, "StartPeriod": 0, "Retries": 0}, image) == {
        "Test": ["CMD", "/bin/check"], "Interval": 5 * S, "Timeout": 2 * S, "StartPeriod": 0, "Retries": 7}
    assert health.merge(None, image) == image
    assert health.merge({"Test": ["NONE"]}, image)["Test"] == ["NONE"]  # --no-healthcheck wins


def test_effective_fills_docker_defaults_and_none_disables() -> None:
    assert health.effective({"healthcheck": {"Test": ["CMD-SHELL", "x"]}}) == {
        "Test": ["CMD-SHELL", "x"], "Interval": 30 * S, "Timeout": 30 * S, "StartPeriod": 0, "Retries": 3}
    assert health.effective({"healthcheck": {"Test": ["NONE"]}}) is None
    assert health.effective({}) is None


def test_probe_argv() -> None:
    assert health.probe_argv(["CMD-SHELL", "curl -f x || exit 1"]) == ["/bin/sh", "-c", "curl -f x || exit 1"]
    assert health.probe_argv(["CMD", "/bin/check", "-q"]) == ["/bin/check", "-q"]


def probe(state: dict[str, Any] | None, code: int, in_start_period: bool = False, n: int = 0) -> dict[str, Any]:
    return health.after_probe(state, CHECK, code, f"out {n}", f"start {n}", f"end {n}", in_start_period)


def test_retries_failures_in_a_row_make_it_unhealthy_and_one_success_heals() -> None:
    state = probe(None, 1)
    assert (state["Status"], state["FailingStreak"]) == ("starting", 1)
    state = probe(state, 1)
    assert (state["Status"], state["FailingStreak"]) == ("unhealthy", 2)
    state = probe(state, 0)
    assert (state["Status"], state["FailingStreak"]) == ("healthy", 0)
    state = probe(state, -1)  # a timeout is a failure too
    assert (state["Status"], state["FailingStreak"]) == ("healthy", 1)


def test_start_period_failures_do_not_count_while_starting() -> None:
    state = probe(None, 1, in_start_period=True)
    assert (state["Status"], state["FailingStreak"]) == ("starting", 0)
    state = probe(probe(None, 0), 1, in_start_period=True)  # healthy once: failures count again
    assert state["FailingStreak"] == 1


def test_the_log_keeps_the_last_five_probes() -> None:
    state = None
    for n in range(7):
        state = probe(state, 0, n=n)
    assert state is not None
    assert [e["Output"] for e in state["Log"]] == [f"out {n}" for n in range(2, 7)]
    assert state["Log"][-1] == {"Start": "start 6", "End": "end 6", "ExitCode": 0, "Output": "out 6"}


def test_output_is_cut_at_docker_limit() -> None:
    state = health.after_probe(None, CHECK, 0, "x" * 5000, "s", "e", False)
    assert len(state["Log"][0]["Output"]) == health.OUTPUT_LIMIT


@pytest.mark.parametrize(("state", "row_health", "suffix", "status"), [
    ("running", None, " (health: starting)", "starting"),
    ("running", {"Status": "healthy", "FailingStreak": 0}, " (healthy)", "healthy"),
    ("running", {"Status": "unhealthy", "FailingStreak": 3}, " (unhealthy)", "unhealthy"),
    ("stopped", None, "", "none"),
])
def test_ps_shows_the_status(state: str, row_health: dict[str, Any] | None, suffix: str, status: str) -> None:
    config = {"healthcheck": CHECK}
    assert health.ps_suffix(config, state, row_health) == suffix
    assert health.status_of(config, state, row_health) == status
    assert health.ps_suffix({}, state, row_health) == ""
    assert health.status_of({}, state, row_health) == "none"


def test_health_status_folds_into_the_row_and_a_new_start_clears_it() -> None:
    def fold(row: dict[str, Any], etype: str, payload: dict[str, Any]) -> dict[str, Any]:
        event = Event(etype, payload)
        event.stream_id, event.version, event.time = CONTAINER_ID, row["version"] + 1, "2026-01-01T00:00:09.000000Z"
        out = apply_container(row, event)
        assert out is not None
        return out

    row = container_row("running", config=json.dumps({**container_config(), "healthcheck": CHECK}))
    row = fold(row, "health_status", {"status": "healthy", "health": {"Status": "healthy", "FailingStreak": 0}})
    assert json.loads(row["health"]) == {"FailingStreak": 0, "Status": "healthy"}
    assert row["state"] == "running"
    row = fold(row, "start", {"pid": 9, "pid_start": 9, "boot_id": "b", "monitor_pid": 8, "monitor_start": 8})
    assert row["health"] is None
