"""The whole lifecycle table: every state x every trigger, legal or not.

Legal: the resulting state, the side effects asked for (through a fake Effects)
and the events left in `pending`. Illegal: IllegalTransition with docker's words,
no side effect, nothing pending, state unchanged.
"""

from __future__ import annotations

import itertools
import re
import signal
from dataclasses import dataclass, field
from typing import Any

import pytest
from mydocker.statemachine.errors import IllegalTransition, UserError
from mydocker.statemachine.machine import STATES, TRIGGERS, Container
from mydocker.statemachine.queries import ContainerView

from tests.fakes import CONTAINER_ID, FakeEffects, container_config, container_row, die_payload

NAME = "happy_turing"
EXIT = die_payload(exit_code=3, reason=None)
CONFIG = container_config()
UNDO = {"cgroups": CONFIG["spec"]["cgroups"], "directory": CONFIG["directory"]}
DESTROYING = ("destroying", UNDO)  # the intent, logged before the teardown
DESTROY = ("destroy", UNDO)
KILL9 = ("kill", {"signal": int(signal.SIGKILL)})

# Every trigger as the lifecycle service calls it. remove appears twice.
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "start": ("start", {"attached": True}),
    "die": ("die", {"exit": EXIT}),
    "stop": ("stop", {"timeout": 7}),
    "kill": ("kill", {"signal": int(signal.SIGTERM)}),
    "remove": ("remove", {}),
    "remove -f": ("remove", {"force": True}),
    "pause": ("pause", {}),
    "unpause": ("unpause", {}),
    "update": ("update", {"limits": {"memory": 1 << 26}}),
    "rename": ("rename", {"name": "new_name"}),
}
LIMITS = {"memory": 1 << 26}
UPDATE = ("update", {"limits": LIMITS})
RENAME = ("rename", {"name": "new_name", "old_name": NAME})


@dataclass
class Legal:
    dest: str
    effects: list[tuple[Any, ...]]
    events: list[tuple[str, dict[str, Any]]]
    result_is_launch: bool = False


@dataclass
class Illegal:
    message: str  # a regex, matched in full
    extra: dict[str, Any] = field(default_factory=dict)


NOT_RUNNING = rf"Container {NAME} is not running"
KILL_REFUSED = rf"Cannot kill container: {NAME}: Container {CONTAINER_ID} is not running"
RM_RUNNING = (rf"You cannot remove a running container {CONTAINER_ID}\. "
              r"Stop the container before attempting removal or force remove")


def cannot_start(state: str) -> str:
    return rf"Container {NAME} cannot be started from state {state}"


NOT_PAUSED = rf"Container {CONTAINER_ID} is not paused"
PAUSE_NOT_RUNNING = rf"Container {CONTAINER_ID} is not running"
RM_PAUSED = (rf"You cannot remove a paused container {CONTAINER_ID}\. "
             r"Unpause and then stop the container before attempting removal or force remove")


TABLE: dict[tuple[str, str], Legal | Illegal] = {
    # created
    ("created", "start"): Legal("running", [("launch", CONTAINER_ID, True)], [], result_is_launch=True),
    ("created", "die"): Illegal(NOT_RUNNING),
    ("created", "stop"): Illegal(NOT_RUNNING),
    ("created", "kill"): Illegal(KILL_REFUSED),
    ("created", "remove"): Legal("removed", [("teardown", CONTAINER_ID)], [DESTROYING, DESTROY]),
    ("created", "remove -f"): Legal("removed", [("teardown", CONTAINER_ID)], [DESTROYING, DESTROY]),
    ("created", "pause"): Illegal(PAUSE_NOT_RUNNING),
    ("created", "unpause"): Illegal(NOT_PAUSED),
    ("created", "update"): Legal("created", [], [UPDATE]),  # recorded, applied at start
    ("created", "rename"): Legal("created", [], [RENAME]),
    # running
    ("running", "start"): Illegal(cannot_start("running")),
    ("running", "die"): Legal("stopped", [("release", CONTAINER_ID)], [("die", EXIT)]),
    ("running", "stop"): Legal("stopped", [("stop", CONTAINER_ID, 7.0), ("release", CONTAINER_ID)],
                               [("kill", {"signal": int(signal.SIGTERM), "timeout": 7.0}), ("stop", {"timeout": 7.0})]),
    ("running", "kill"): Legal("running", [("signal", CONTAINER_ID, int(signal.SIGTERM))],
                               [("kill", {"signal": int(signal.SIGTERM)})]),
    ("running", "remove"): Illegal(RM_RUNNING),
    ("running", "remove -f"): Legal("removed",
                                    [("kill", CONTAINER_ID), ("release", CONTAINER_ID), ("teardown", CONTAINER_ID)],
                                    [KILL9, DESTROYING, DESTROY]),
    ("running", "pause"): Legal("paused", [("freeze", CONTAINER_ID)], [("pause", {})]),
    ("running", "unpause"): Illegal(NOT_PAUSED),
    ("running", "update"): Legal("running", [("update", CONTAINER_ID, LIMITS)], [UPDATE]),
    ("running", "rename"): Legal("running", [], [RENAME]),
    # paused: frozen, alive; a signal thaws it (docker), stop and rm -f work
    ("paused", "start"): Illegal(r"cannot start a paused container, try unpause instead"),
    ("paused", "die"): Legal("stopped", [("release", CONTAINER_ID)], [("die", EXIT)]),
    ("paused", "stop"): Legal("stopped", [("stop", CONTAINER_ID, 7.0), ("release", CONTAINER_ID)],
                              [("kill", {"signal": int(signal.SIGTERM), "timeout": 7.0}), ("stop", {"timeout": 7.0})]),
    ("paused", "kill"): Legal("running", [("signal", CONTAINER_ID, int(signal.SIGTERM)), ("thaw", CONTAINER_ID)],
                              [("kill", {"signal": int(signal.SIGTERM)}), ("unpause", {})]),
    ("paused", "remove"): Illegal(RM_PAUSED),
    ("paused", "remove -f"): Legal("removed",
                                   [("kill", CONTAINER_ID), ("release", CONTAINER_ID), ("teardown", CONTAINER_ID)],
                                   [KILL9, DESTROYING, DESTROY]),
    ("paused", "pause"): Illegal(rf"Container {CONTAINER_ID} is already paused"),
    ("paused", "unpause"): Legal("running", [("thaw", CONTAINER_ID)], [("unpause", {})]),
    ("paused", "update"): Legal("paused", [("update", CONTAINER_ID, LIMITS)], [UPDATE]),
    ("paused", "rename"): Legal("paused", [], [RENAME]),
    # stopped
    ("stopped", "start"): Legal("running", [("launch", CONTAINER_ID, True)], [], result_is_launch=True),
    ("stopped", "die"): Illegal(NOT_RUNNING),
    ("stopped", "stop"): Illegal(NOT_RUNNING),
    ("stopped", "kill"): Illegal(KILL_REFUSED),
    ("stopped", "remove"): Legal("removed", [("teardown", CONTAINER_ID)], [DESTROYING, DESTROY]),
    ("stopped", "remove -f"): Legal("removed", [("teardown", CONTAINER_ID)], [DESTROYING, DESTROY]),
    ("stopped", "pause"): Illegal(PAUSE_NOT_RUNNING),
    ("stopped", "unpause"): Illegal(NOT_PAUSED),
    ("stopped", "update"): Legal("stopped", [], [UPDATE]),
    ("stopped", "rename"): Legal("stopped", [], [RENAME]),
    # removed: the end, nothing goes
    ("removed", "start"): Illegal(cannot_start("removed")),
    ("removed", "die"): Illegal(NOT_RUNNING),
    ("removed", "stop"): Illegal(NOT_RUNNING),
    ("removed", "kill"): Illegal(KILL_REFUSED),
    ("removed", "remove"): Illegal(rf"Cannot remove container {NAME} in state removed"),
    ("removed", "remove -f"): Illegal(rf"Cannot remove container {NAME} in state removed"),
    ("removed", "pause"): Illegal(PAUSE_NOT_RUNNING),
    ("removed", "unpause"): Illegal(NOT_PAUSED),
    ("removed", "update"): Illegal(rf"Cannot update container {NAME} in state removed"),
    ("removed", "rename"): Illegal(rf"Cannot rename container {NAME} in state removed"),
}


def test_table_covers_every_state_and_trigger() -> None:
    assert set(STATES) == {"created", "running", "paused", "stopped", "removed"}
    assert set(TRIGGERS) == {"start", "die", "stop", "kill", "remove", "pause", "unpause", "update", "rename"}
    assert set(TABLE) == set(itertools.product(STATES, CALLS))


def make(state: str, effects: FakeEffects | None = None) -> tuple[Container, FakeEffects]:
    effects = effects or FakeEffects()
    return Container(ContainerView(container_row(state, name=NAME)), effects), effects


@pytest.mark.parametrize(("state", "call"), sorted(TABLE), ids=[f"{s}-{c}" for s, c in sorted(TABLE)])
def test_transition(state: str, call: str) -> None:
    expected = TABLE[(state, call)]
    trigger, kwargs = CALLS[call]
    container, effects = make(state)
    assert container.state == state

    if isinstance(expected, Illegal):
        with pytest.raises(IllegalTransition) as info:
            container.handle(trigger, **kwargs)
        assert re.fullmatch(expected.message, str(info.value)), str(info.value)
        assert isinstance(info.value, UserError)
        assert effects.calls == [], "an illegal trigger must not touch the kernel"
        assert container.pending == [], "an illegal trigger must not record anything"
        assert container.state == state
        return

    result = container.handle(trigger, **kwargs)
    assert container.state == expected.dest
    assert [(c.name, *c.args) for c in effects.calls] == expected.effects
    assert [(e.type, e.payload) for e in container.pending] == expected.events
    if expected.result_is_launch:
        assert result is effects.launched


# --- details the table cannot show ---------------------------------------------------


def test_stop_records_the_exit_when_the_monitor_was_gone() -> None:
    died = die_payload(exit_code=137, reason="monitor lost")
    container, effects = make("running", FakeEffects(stop_died=died))
    container.handle("stop", timeout=1)
    assert container.state == "stopped"
    assert [(e.type, e.payload) for e in container.pending] == [
        ("kill", {"signal": int(signal.SIGTERM), "timeout": 1.0}), ("die", died), ("stop", {"timeout": 1.0})]


def test_stop_default_timeout_is_ten_seconds() -> None:
    container, effects = make("running")
    container.handle("stop")
    assert [(c.name, *c.args) for c in effects.calls] == [("stop", CONTAINER_ID, 10.0), ("release", CONTAINER_ID)]


def test_kill_defaults_to_sigkill_and_stays_running() -> None:
    container, effects = make("running")
    container.handle("kill")
    assert container.state == "running"
    assert [(c.name, *c.args) for c in effects.calls] == [("signal", CONTAINER_ID, int(signal.SIGKILL))]
    assert [(e.type, e.payload) for e in container.pending] == [KILL9]


def test_force_remove_of_running_records_kill_die_destroy_in_order() -> None:
    died = die_payload(exit_code=137, reason="monitor lost")
    container, effects = make("running", FakeEffects(kill_died=died))
    container.handle("remove", force=True)
    assert container.state == "removed"
    assert [(e.type, e.payload) for e in container.pending] == [KILL9, ("die", died), DESTROYING, DESTROY]
    # teardown only after the processes were killed and their cgroups released
    assert effects.calls.names() == ["kill", "release", "teardown"]


def test_start_detached_passes_attached_false() -> None:
    container, effects = make("created")
    container.handle("start")
    assert [(c.name, *c.args) for c in effects.calls] == [("launch", CONTAINER_ID, False)]


def test_two_containers_do_not_share_a_machine() -> None:
    a, _ = make("running")
    b, _ = make("created")
    a.handle("die", exit=EXIT)
    assert (a.state, b.state) == ("stopped", "created")
    assert b.pending == []


def test_an_effect_that_fails_leaves_the_state_and_records_only_the_intent() -> None:
    """A teardown that fails: still stopped, and nothing claims it was destroyed;
    only the `destroying` intent is there, for recovery to finish the job."""
    class Boom(FakeEffects):
        def teardown(self, view: Any) -> None:
            super().teardown(view)
            raise OSError("device busy")

    container, _ = make("stopped", Boom())
    with pytest.raises(OSError):
        container.handle("remove")
    assert container.state == "stopped"
    assert [(e.type, e.payload) for e in container.pending] == [DESTROYING]


def test_a_failing_launch_leaves_created_and_records_nothing() -> None:
    class Boom(FakeEffects):
        def launch(self, view: Any, attached: bool) -> Any:
            raise OSError("no overlay")

    container, _ = make("created", Boom())
    with pytest.raises(OSError):
        container.handle("start")
    assert container.state == "created"
    assert container.pending == []


# --- record: intents logged before the effect ------------------------------------------


class Recorder:
    """The `record` callback: remembers each batch and how many effects had run then."""

    def __init__(self, effects: FakeEffects) -> None:
        self.effects = effects
        self.batches: list[tuple[list[tuple[str, dict[str, Any]]], int]] = []

    def __call__(self, events: list[Any]) -> None:
        self.batches.append(([(e.type, e.payload) for e in events], len(self.effects.calls)))


@pytest.mark.parametrize(
    ("state", "trigger", "kwargs", "recorded", "still_pending", "effects_done"),
    [
        ("running", "kill", {"signal": 15}, [("kill", {"signal": 15})], [], [0]),
        ("running", "stop", {"timeout": 2}, [("kill", {"signal": 15, "timeout": 2.0})], [("stop", {"timeout": 2.0})],
         [0]),
        ("running", "die", {"exit": EXIT}, [("die", EXIT)], [], [0]),
        ("running", "remove", {"force": True}, [KILL9, DESTROYING], [DESTROY], [0, 2]),
        ("stopped", "remove", {}, [DESTROYING], [DESTROY], [0]),
    ],
    ids=["kill", "stop", "die", "rm-f", "rm"],
)
def test_intents_are_recorded_before_their_effects(state: str, trigger: str, kwargs: dict[str, Any],
                                                   recorded: list[Any], still_pending: list[Any],
                                                   effects_done: list[int]) -> None:
    """With a `record` callback, kill/die/destroying reach the log before the
    effect they announce (effects_done: how many effects had run at each one)."""
    effects = FakeEffects()
    record = Recorder(effects)
    container = Container(ContainerView(container_row(state, name=NAME)), effects, record=record)
    container.handle(trigger, **kwargs)
    assert [batch for batch, _ in record.batches] == [[e] for e in recorded]
    assert [done for _, done in record.batches] == effects_done
    assert [(e.type, e.payload) for e in container.pending] == still_pending


def test_record_is_not_called_for_an_illegal_trigger() -> None:
    effects = FakeEffects()
    record = Recorder(effects)
    container = Container(ContainerView(container_row("stopped", name=NAME)), effects, record=record)
    with pytest.raises(IllegalTransition):
        container.handle("kill", signal=9)
    assert record.batches == []


# --- the fold agrees with the machine on the new states -----------------------------------


def _fold(row: dict[str, Any], events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any] | None:
    from mydocker.store.events import Event
    from mydocker.store.projections import apply_container

    current: dict[str, Any] | None = row
    for version, (etype, payload) in enumerate(events, start=row["version"] + 1):
        event = Event(etype, payload)
        event.stream_id, event.version, event.time = CONTAINER_ID, version, "2026-01-01T00:00:09.000000Z"
        current = apply_container(current, event)
    return current


@pytest.mark.parametrize(("state", "call"), [("running", "pause"), ("paused", "unpause"), ("paused", "kill"),
                                             ("running", "update"), ("paused", "rename"), ("stopped", "update")])
def test_fold_of_the_events_lands_in_dest(state: str, call: str) -> None:
    expected = TABLE[(state, call)]
    assert isinstance(expected, Legal)
    trigger, kwargs = CALLS[call]
    effects = FakeEffects()
    batches: list[Any] = []
    container = Container(ContainerView(container_row(state, name=NAME)), effects, record=batches.extend)
    container.handle(trigger, **kwargs)
    events = [(e.type, e.payload) for e in [*batches, *container.pending]]
    folded = _fold(container_row(state, name=NAME), events)
    assert folded is not None and folded["state"] == expected.dest


def test_fold_of_update_changes_the_limits_and_rename_the_name() -> None:
    import json

    folded = _fold(container_row("running", name=NAME), [UPDATE, RENAME])
    assert folded is not None
    assert json.loads(folded["config"])["spec"]["limits"]["memory"] == LIMITS["memory"]
    assert folded["name"] == "new_name"


def test_a_pause_the_monitors_die_overtook_leaves_the_container_stopped() -> None:
    """pause is appended after the freeze; if the container died meanwhile, the
    monitor's die came first and the late pause must not revive it."""
    folded = _fold(container_row("running", name=NAME), [("die", EXIT), ("pause", {})])
    assert folded is not None and folded["state"] == "stopped"
    folded = _fold(container_row("paused", name=NAME), [("die", EXIT), ("unpause", {})])
    assert folded is not None and folded["state"] == "stopped"
