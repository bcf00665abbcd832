"""Restart policies: docker's decisions and backoff (pure), the machine's rows
that use them, and the projection's memory of them (RestartCount, the backoff,
a user's stop)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mydocker.statemachine import restart_policy as rp
from mydocker.statemachine.machine import Container
from mydocker.statemachine.queries import ContainerView
from mydocker.store.events import Event
from mydocker.store.projections import apply_container

from tests.fakes import CONTAINER_ID, SLEEPER, FakeEffects, container_config, container_row, die_payload


@pytest.mark.parametrize(("text", "policy"), [
    ("no", {"Name": "no", "MaximumRetryCount": 0}),
    ("always", {"Name": "always", "MaximumRetryCount": 0}),
    ("unless-stopped", {"Name": "unless-stopped", "MaximumRetryCount": 0}),
    ("on-failure", {"Name": "on-failure", "MaximumRetryCount": 0}),
    ("on-failure:5", {"Name": "on-failure", "MaximumRetryCount": 5}),
])
def test_parse_gives_docker_host_config_shape(text: str, policy: dict[str, Any]) -> None:
    assert rp.parse(text) == policy


@pytest.mark.parametrize(("text", "message"), [  # docker 20.10's words, run side by side
    ("bogus", "invalid restart policy 'bogus'"),
    ("on-failure:x", "invalid restart policy format: maximum retry count must be an integer"),
    ("always:3", "maximum retry count cannot be used with restart policy 'always'"),
    ("on-failure:-1", "maximum retry count cannot be negative"),
])
def test_parse_refuses_with_docker_words(text: str, message: str) -> None:
    with pytest.raises(rp.PolicyError) as info:
        rp.parse(text)
    assert str(info.value) == message


@pytest.mark.parametrize(("name", "retries", "code", "by_user", "count", "restart"), [
    ("no", 0, 1, False, 0, False),
    ("always", 0, 0, False, 0, True),
    ("always", 0, 137, True, 0, False),  # docker stop/kill: no restart
    ("unless-stopped", 0, 0, False, 7, True),
    ("unless-stopped", 0, 0, True, 0, False),
    ("on-failure", 0, 0, False, 0, False),  # a clean exit is no failure
    ("on-failure", 0, 3, False, 99, True),  # no maximum
    ("on-failure", 2, 3, False, 1, True),
    ("on-failure", 2, 3, False, 2, False),  # on-failure:2 counts
])
def test_should_restart(name: str, retries: int, code: int, by_user: bool, count: int, restart: bool) -> None:
    assert rp.should_restart({"Name": name, "MaximumRetryCount": retries}, code, by_user, count) is restart


def test_backoff_doubles_from_100ms_up_to_a_minute_and_resets_after_10s_of_running() -> None:
    delays, delay = [], 0.0
    for _ in range(12):
        delay = rp.next_delay(delay, ran_for=0.5)
        delays.append(delay)
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8]
    assert delays[-1] == rp.MAX_DELAY and max(delays) == rp.MAX_DELAY
    assert rp.next_delay(12.8, ran_for=10.0) == 0.1
    assert rp.next_delay(12.8, ran_for=9.9) == 25.6


def test_seconds_since_reads_the_logs_times() -> None:
    now = datetime(2026, 1, 1, 0, 0, 12, tzinfo=UTC)
    assert rp.seconds_since("2026-01-01T00:00:02.000000Z", now) == 10.0
    assert rp.seconds_since(None, now) == 0.0


# --- the machine's rows -------------------------------------------------------------


def machine(state: str, policy: str = "always", **row: Any) -> tuple[Container, FakeEffects]:
    config = {**container_config(), "restart_policy": rp.parse(policy)}
    effects = FakeEffects()
    view = ContainerView(container_row(state, config=json.dumps(config, sort_keys=True), **row))
    return Container(view, effects), effects


def test_the_exit_after_a_users_stop_or_kill_is_not_restarted() -> None:
    container, effects = machine("running", stopped_by_user=1)
    container.handle("die", exit=die_payload(137), restartable=True)
    assert container.state == "stopped"
    assert effects.calls.names() == ["release"]


def test_only_the_monitors_own_exit_path_may_restart() -> None:
    """stop's or recovery's die (no sleeper can be handed the wait) stops it."""
    container, _ = machine("running")
    container.handle("die", exit=die_payload(1))
    assert container.state == "stopped"


def test_on_failure_gives_up_after_its_count() -> None:
    container, _ = machine("running", "on-failure:2", restart_count=2)
    container.handle("die", exit=die_payload(1), restartable=True)
    assert container.state == "stopped"
    container, _ = machine("running", "on-failure:2", restart_count=1)
    container.handle("die", exit=die_payload(1), restartable=True)
    assert container.state == "restarting"
    assert container.pending[0].payload["restart"]["count"] == 2


def test_the_delay_doubles_the_last_unless_the_run_lasted_10s() -> None:
    just_now = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    container, effects = machine("running", restart_delay=0.4, started_at=just_now)
    container.handle("die", exit=die_payload(1), restartable=True)
    assert [c.args for c in effects.calls.of("schedule_restart")] == [(CONTAINER_ID, 0.8)]
    long_ago = (datetime.now(UTC) - timedelta(seconds=11)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    container, effects = machine("running", restart_delay=0.4, started_at=long_ago)
    container.handle("die", exit=die_payload(1), restartable=True)
    assert [c.args for c in effects.calls.of("schedule_restart")] == [(CONTAINER_ID, 0.1)]


# --- the projection ---------------------------------------------------------------


def fold(row: dict[str, Any], *events: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    current: dict[str, Any] | None = row
    for version, (etype, payload) in enumerate(events, start=row["version"] + 1):
        event = Event(etype, payload)
        event.stream_id, event.version, event.time = CONTAINER_ID, version, "2026-01-01T00:00:09.000000Z"
        current = apply_container(current, event)
    assert current is not None
    return current


START = ("start", {"pid": 77, "pid_start": 7, "boot_id": "b", "monitor_pid": 76, "monitor_start": 6})


def test_restart_count_grows_with_the_policys_starts_and_a_users_start_resets_it() -> None:
    restart = {"count": 1, "delay": 0.1, "monitor_pid": SLEEPER[0], "monitor_start": SLEEPER[1]}
    row = fold(container_row("running"), ("die", {**die_payload(3), "restart": restart}))
    assert (row["state"], row["restart_count"], row["monitor_pid"], row["exit_code"]) == (
        "restarting", 1, SLEEPER[0], 3)
    row = fold(row, START)
    assert (row["state"], row["restart_count"], row["restart_delay"]) == ("running", 1, 0.1)
    row = fold(row, ("kill", {"signal": 15}), ("die", die_payload(143)))
    assert (row["state"], row["stopped_by_user"]) == ("stopped", 1)
    row = fold(row, START)  # docker start: a new restart manager
    assert (row["restart_count"], row["restart_delay"], row["stopped_by_user"]) == (0, 0.0, 0)


def test_a_stop_while_restarting_ends_the_wait() -> None:
    row = fold(container_row("restarting"), ("stop", {"timeout": 10.0}))
    assert (row["state"], row["monitor_pid"], row["exit_code"]) == ("stopped", None, 3)


def test_update_restart_changes_the_policy_only() -> None:
    policy = rp.parse("on-failure:3")
    row = fold(container_row("running"), ("update", {"limits": {}, "restart_policy": policy}))
    config = json.loads(row["config"])
    assert config["restart_policy"] == policy
    assert config["spec"]["limits"] == {}


def test_update_restart_of_an_autoremove_container_is_refused_as_docker() -> None:
    from mydocker.statemachine.errors import UserError

    config = {**container_config(), "autoremove": True}
    container = Container(ContainerView(container_row("running", config=json.dumps(config))), FakeEffects())
    with pytest.raises(UserError) as info:
        container.handle("update", limits={}, restart_policy=rp.parse("always"))
    assert str(info.value) == (f"Cannot update container {CONTAINER_ID}: Restart policy cannot be updated because "
                               "AutoRemove is enabled for the container")
    assert container.pending == []


@pytest.mark.parametrize(("name", "retries", "code", "by_user", "restart"), [
    ("always", 0, 0, True, True),  # dockerd's restore: always, even after a user's stop
    ("unless-stopped", 0, 0, False, True),
    ("unless-stopped", 0, 0, True, False),
    ("on-failure", 0, 255, False, True),  # a reboot's unknown status is a failure
    ("on-failure", 2, 1, False, True),  # a fresh restart manager: the count starts again
    ("on-failure", 0, 0, False, False),
    ("no", 0, 255, False, False),
])
def test_at_boot_is_moby_restart_managers_answer(name: str, retries: int, code: int, by_user: bool,
                                                 restart: bool) -> None:
    assert rp.at_boot({"Name": name, "MaximumRetryCount": retries}, code, by_user) is restart
