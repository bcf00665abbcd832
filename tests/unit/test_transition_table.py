"""The whole lifecycle table: every state x every trigger, legal or not.

Legal: the resulting state, the side effects asked for (through a fake Effects)
and the events left in `pending`; folding those events (and the `start` the
monitor records for a launch) through store.projections lands in that state.
Illegal: IllegalTransition with docker's words, no side effect, nothing
pending, state unchanged.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
from dataclasses import dataclass, field
from typing import Any

import pytest
from mydocker.statemachine.errors import IllegalTransition, UserError
from mydocker.statemachine.machine import STATES, TRIGGERS, Container
from mydocker.statemachine.queries import ContainerView

from tests.fakes import CONTAINER_ID, SLEEPER, WATCHER, FakeEffects, container_config, container_row, die_payload

NAME = "happy_turing"
EXIT = die_payload(exit_code=3, reason=None)
CONFIG = container_config()
UNDO = {"cgroups": CONFIG["spec"]["cgroups"], "directory": CONFIG["directory"]}
DESTROYING = ("destroying", UNDO)  # the intent, logged before the teardown
DESTROY = ("destroy", UNDO)
KILL9 = ("kill", {"signal": int(signal.SIGKILL)})

# Every trigger as its caller calls it (lifecycle, the monitor, reconcile, the
# watcher, exec). remove, die and finish_removal appear twice.
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "start": ("start", {"attached": True}),
    "die": ("die", {"exit": EXIT}),
    "die of another run": ("die", {"exit": EXIT, "pid": 999}),  # the monitor of an earlier run
    "restart": ("restart", {"timeout": 7}),
    "exec": ("exec", {"ref": "happy"}),
    "top": ("top", {}),
    "attach": ("attach", {}),
    "adopt": ("adopt", {"reason": "monitor lost"}),
    "abort_start": ("abort_start", {"reason": "start did not finish"}),
    "finish_removal": ("finish_removal", {}),  # the stream ends in `destroying` (SETUP)
    "finish_removal, rm not begun": ("finish_removal", {}),
    "stop": ("stop", {"timeout": 7}),
    "kill": ("kill", {"signal": int(signal.SIGTERM)}),
    "remove": ("remove", {}),
    "remove -f": ("remove", {"force": True}),
    "pause": ("pause", {}),
    "unpause": ("unpause", {}),
    "update": ("update", {"limits": {"memory": 1 << 26}}),
    "rename": ("rename", {"name": "new_name"}),
    "network_connect": ("network_connect", {"network": {"mode": "bridge", "id": "n1", "name": "front"},
                                            "aliases": ["web"]}),
    "network_disconnect": ("network_disconnect", {"network": {"mode": "none", "name": "none"}, "left": "front"}),
    # restart policies: the monitor's exit with a policy, its sleeper waking (or a stale one), recovery
    "die, policy always": ("die", {"exit": EXIT, "restartable": True}),
    "policy_restart": ("policy_restart", {"sleeper": SLEEPER[0]}),
    "policy_restart, stale sleeper": ("policy_restart", {"sleeper": 1}),
    "abandon_restart": ("abandon_restart", {"reason": "host reboot"}),
    # health checks: a probe of this run (pid 4242, container_row's) or of an earlier one
    "health_probe": ("health_probe", {"pid": 4242, "exec_id": "e1", "argv": ["/bin/sh", "-c", "true"]}),
    "health_probe of another run": ("health_probe", {"pid": 999, "exec_id": "e1", "argv": ["true"]}),
    "health_probe_exit": ("health_probe_exit", {"exec_id": "e1", "exit_code": 1}),
    "health_status": ("health_status", {"pid": 4242, "health": {"Status": "unhealthy", "FailingStreak": 3,
                                                                 "Log": []}}),
    "health_status of another run": ("health_status", {"pid": 999, "health": {"Status": "healthy",
                                                                               "FailingStreak": 0, "Log": []}}),
    # system restore at boot: a policy that says so, and one that does not
    "boot_restore": ("boot_restore", {}),
    "boot_restore, policy no": ("boot_restore", {}),
}
# How the machine is loaded for a call, beyond the row.
SETUP: dict[str, dict[str, Any]] = {"finish_removal": {"last_event": "destroying"}}
ALWAYS = {"Name": "always", "MaximumRetryCount": 0}
# The row's columns a call needs beyond container_row's.
ROWS: dict[str, dict[str, Any]] = {
    "die, policy always": {"config": json.dumps({**container_config(), "restart_policy": ALWAYS}, sort_keys=True)},
    "boot_restore": {"config": json.dumps({**container_config(), "restart_policy": ALWAYS}, sort_keys=True),
                     "stopped_by_user": 1},  # always: even after a user's stop (dockerd's restore)
}


def row_for(state: str, call: str) -> dict[str, Any]:
    return container_row(state, name=NAME, **ROWS.get(call, {}))
LIMITS = {"memory": 1 << 26}
UPDATE = ("update", {"limits": LIMITS})
RENAME = ("rename", {"name": "new_name", "old_name": NAME})
FRONT = {"mode": "bridge", "id": "n1", "name": "front"}
CONNECT = ("network_connect", {"network": FRONT, "aliases": ["web"]})
DISCONNECT = ("network_disconnect", {"network": {"mode": "none", "name": "none"}, "left": "front"})


def network_rows(state: str) -> dict[tuple[str, str], Legal | Illegal]:
    """connect/disconnect: plugged into a live init at once, recorded in every state."""
    if state == "removed":
        return {(state, c): Illegal(cannot(c, state)) for c in ("network_connect", "network_disconnect")}
    alive = state in ("running", "paused")
    return {
        (state, "network_connect"): Legal(state, [("connect_network", CONTAINER_ID, FRONT)] if alive else [],
                                          [CONNECT]),
        (state, "network_disconnect"): Legal(state, [("disconnect_network", CONTAINER_ID)] if alive else [],
                                             [DISCONNECT]),
    }


@dataclass
class Legal:
    dest: str
    effects: list[tuple[Any, ...]]
    events: list[tuple[str, dict[str, Any]]]
    result_is_launch: bool = False
    observed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # what the launched monitor records


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


STARTED = [("start", {"pid": 77, "pid_start": 7, "boot_id": "boot-2", "monitor_pid": 76, "monitor_start": 6})]
RESTART = ("restart", {"timeout": 7.0})
STOP_EVENTS = [("kill", {"signal": int(signal.SIGTERM), "timeout": 7.0}), ("stop", {"timeout": 7.0})]
ADOPTED = ("adopt", {"monitor_pid": WATCHER[0], "monitor_start": WATCHER[1], "reason": "monitor lost"})
ABORTED = ("start_aborted", {"reason": "start did not finish"})
NOTHING = Legal  # a no-op row: legal, no effect, no event, same state


def cannot(trigger: str, state: str) -> str:
    return rf"Cannot {trigger} container {NAME} in state {state}"


EXEC_NOT_RUNNING = rf"container {CONTAINER_ID} is not running"
ATTACH_STOPPED = r"You cannot attach to a stopped container, start it first"


def recovery_rows(state: str) -> dict[tuple[str, str], Legal | Illegal]:
    """The triggers of statemachine.reconcile and watcher, for one state."""
    alive = state in ("running", "paused")
    rows: dict[tuple[str, str], Legal | Illegal] = {
        (state, "adopt"): Legal(state, [("adopt", CONTAINER_ID)], [ADOPTED]) if alive else Illegal(
            cannot("adopt", state)),
        (state, "abort_start"): Legal(state, [("release", CONTAINER_ID)], [ABORTED]) if state == "created"
        else Illegal(cannot("abort_start", state)),
        (state, "finish_removal"): Legal("removed", [("teardown", CONTAINER_ID)], [DESTROY]) if state != "removed"
        else Illegal(cannot("finish_removal", state)),
        (state, "finish_removal, rm not begun"): Illegal(cannot("finish_removal", state)),
        (state, "die of another run"): NOTHING(state, [], []),
    }
    return rows


RESTARTING_WAIT = rf"Container {CONTAINER_ID} is restarting, wait until the container is running"
RESTART_SCHEDULED = ("die", {**EXIT, "restart": {"count": 1, "delay": 0.1, "monitor_pid": SLEEPER[0],
                                                 "monitor_start": SLEEPER[1]}})


def policy_rows(state: str) -> dict[tuple[str, str], Legal | Illegal]:
    """The restart policy's triggers from every state but restarting."""
    alive = state in ("running", "paused")
    return {
        (state, "die, policy always"): Legal("restarting", [("schedule_restart", CONTAINER_ID, 0.1),
                                                            ("release", CONTAINER_ID)], [RESTART_SCHEDULED])
        if alive else NOTHING(state, [], []),
        (state, "policy_restart"): Illegal(cannot("policy_restart", state)),
        (state, "policy_restart, stale sleeper"): Illegal(cannot("policy_restart", state)),
        (state, "abandon_restart"): Illegal(cannot("abandon_restart", state)),
    }


PROBE_START = ("exec_start", {"exec_id": "e1", "argv": ["/bin/sh", "-c", "true"], "health_check": True,
                              "pid": 4242, "pid_start": 123456})
PROBE_EXIT = ("exec_die", {"exec_id": "e1", "exit_code": 1})
UNHEALTHY = ("health_status", {"status": "unhealthy", "health": {"Status": "unhealthy", "FailingStreak": 3}})


def health_rows(state: str) -> dict[tuple[str, str], Legal | Illegal]:
    """docker probes a running container only (not paused: its health monitor
    stops); a result counts for the run probed; the probe's exec_die is history."""
    running = state == "running"
    return {
        (state, "health_probe"): Legal(state, [], [PROBE_START]) if running else Illegal(cannot("health_probe", state)),
        (state, "health_probe of another run"): Illegal(cannot("health_probe", state)),
        (state, "health_probe_exit"): Legal(state, [], [PROBE_EXIT]) if state != "removed"
        else Illegal(cannot("health_probe_exit", state)),
        (state, "health_status"): Legal(state, [], [UNHEALTHY]) if running else Illegal(cannot("health_status", state)),
        (state, "health_status of another run"): Illegal(cannot("health_status", state)),
    }


def boot_rows(state: str) -> dict[tuple[str, str], Legal | Illegal]:
    """system restore starts a stopped container whose policy says so, and nothing else."""
    return {
        (state, "boot_restore"): Legal("running", [("launch", CONTAINER_ID, False)], [], True, STARTED)
        if state == "stopped" else Illegal(cannot("boot_restore", state)),
        (state, "boot_restore, policy no"): Illegal(cannot("boot_restore", state)),
    }


CANCEL = ("cancel_restart", CONTAINER_ID)
RESTARTING: dict[tuple[str, str], Legal | Illegal] = {
    **recovery_rows("restarting"),
    ("restarting", "die"): NOTHING("restarting", [], []),  # the exit is in the log already
    ("restarting", "die, policy always"): NOTHING("restarting", [], []),
    ("restarting", "policy_restart"): Legal("running", [("launch", CONTAINER_ID, False)],
                                            [("restart", {"policy": "no", "count": 1})], True, STARTED),
    ("restarting", "policy_restart, stale sleeper"): Illegal(cannot("policy_restart", "restarting")),
    ("restarting", "abandon_restart"): Legal("stopped", [], [("restart_abandoned", {"reason": "host reboot"})]),
    ("restarting", "start"): NOTHING("restarting", [], []),  # docker: already started, success
    ("restarting", "stop"): Legal("stopped", [CANCEL], [("stop", {"timeout": 7.0})]),
    ("restarting", "kill"): Legal("stopped", [CANCEL], [("kill", {"signal": int(signal.SIGTERM)})]),
    ("restarting", "remove"): Illegal(rf"You cannot remove a restarting container {CONTAINER_ID}\. "
                                      r"Stop the container before attempting removal or force remove"),
    ("restarting", "remove -f"): Legal("removed", [CANCEL, ("teardown", CONTAINER_ID)], [DESTROYING, DESTROY]),
    ("restarting", "restart"): Legal("running", [CANCEL, ("launch", CONTAINER_ID, False)],
                                     [("stop", {"timeout": 7.0}), RESTART], True, STARTED),
    ("restarting", "pause"): Illegal(RESTARTING_WAIT),
    ("restarting", "unpause"): Illegal(NOT_PAUSED),
    ("restarting", "exec"): Illegal(RESTARTING_WAIT),
    ("restarting", "top"): Illegal(RESTARTING_WAIT),
    ("restarting", "attach"): Illegal(r"You cannot attach to a restarting container, wait until it is running"),
    ("restarting", "update"): Legal("restarting", [], [UPDATE]),
    ("restarting", "rename"): Legal("restarting", [], [RENAME]),
}

TABLE: dict[tuple[str, str], Legal | Illegal] = {
    **{row: v for s in ("created", "running", "paused", "stopped", "removed") for row, v in recovery_rows(s).items()},
    **{row: v for s in ("created", "running", "paused", "restarting", "stopped", "removed")
       for row, v in network_rows(s).items()},
    **{row: v for s in ("created", "running", "paused", "stopped", "removed") for row, v in policy_rows(s).items()},
    **RESTARTING,
    **{row: v for s in STATES for row, v in health_rows(s).items()},
    **{row: v for s in STATES for row, v in boot_rows(s).items()},
    ("created", "restart"): Legal("running", [("launch", CONTAINER_ID, False)], [RESTART], True, STARTED),
    ("created", "exec"): Illegal(EXEC_NOT_RUNNING),
    ("created", "top"): Illegal(PAUSE_NOT_RUNNING),
    ("created", "attach"): Illegal(ATTACH_STOPPED),
    ("running", "top"): Legal("running", [], []),
    ("running", "attach"): Legal("running", [], []),
    ("paused", "top"): Legal("paused", [], []),
    ("paused", "attach"): Illegal(r"You cannot attach to a paused container, unpause it first"),
    ("stopped", "top"): Illegal(PAUSE_NOT_RUNNING),
    ("stopped", "attach"): Illegal(ATTACH_STOPPED),
    ("removed", "top"): Illegal(PAUSE_NOT_RUNNING),
    ("removed", "attach"): Illegal(ATTACH_STOPPED),
    ("running", "restart"): Legal("running", [("stop", CONTAINER_ID, 7.0), ("release", CONTAINER_ID),
                                              ("launch", CONTAINER_ID, False)], [*STOP_EVENTS, RESTART], True, STARTED),
    ("running", "exec"): Legal("running", [], []),
    ("paused", "restart"): Legal("running", [("stop", CONTAINER_ID, 7.0), ("release", CONTAINER_ID),
                                             ("launch", CONTAINER_ID, False)], [*STOP_EVENTS, RESTART], True, STARTED),
    ("paused", "exec"): Illegal(r"Container happy is paused, unpause the container before exec"),
    ("stopped", "restart"): Legal("running", [("launch", CONTAINER_ID, False)], [RESTART], True, STARTED),
    ("stopped", "exec"): Illegal(EXEC_NOT_RUNNING),
    ("removed", "restart"): Illegal(cannot("restart", "removed")),
    ("removed", "exec"): Illegal(EXEC_NOT_RUNNING),
    # created
    ("created", "start"): Legal("running", [("launch", CONTAINER_ID, True)], [], True, STARTED),
    ("created", "die"): NOTHING("created", [], []),  # a monitor whose start never got recorded
    ("created", "stop"): Illegal(NOT_RUNNING),
    ("created", "kill"): Illegal(KILL_REFUSED),
    ("created", "remove"): Legal("removed", [("teardown", CONTAINER_ID)], [DESTROYING, DESTROY]),
    ("created", "remove -f"): Legal("removed", [("teardown", CONTAINER_ID)], [DESTROYING, DESTROY]),
    ("created", "pause"): Illegal(PAUSE_NOT_RUNNING),
    ("created", "unpause"): Illegal(NOT_PAUSED),
    ("created", "update"): Legal("created", [], [UPDATE]),  # recorded, applied at start
    ("created", "rename"): Legal("created", [], [RENAME]),
    # running
    ("running", "start"): NOTHING("running", [], []),  # docker: nothing to do, and success
    ("running", "die"): Legal("stopped", [("release", CONTAINER_ID)], [("die", EXIT)]),
    ("running", "stop"): Legal("stopped", [("stop", CONTAINER_ID, 7.0), ("release", CONTAINER_ID)],
                               [("kill", {"signal": int(signal.SIGTERM), "timeout": 7.0}), ("stop", {"timeout": 7.0})],
                               observed=[("die", EXIT)]),  # the monitor's, which effects.stop waited for
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
                              [("kill", {"signal": int(signal.SIGTERM), "timeout": 7.0}), ("stop", {"timeout": 7.0})],
                               observed=[("die", EXIT)]),  # the monitor's, which effects.stop waited for
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
    ("stopped", "start"): Legal("running", [("launch", CONTAINER_ID, True)], [], True, STARTED),
    ("stopped", "die"): NOTHING("stopped", [], []),  # the exit is in the log already: recorded once
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
    ("removed", "die"): NOTHING("removed", [], []),
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
    assert set(STATES) == {"created", "running", "paused", "restarting", "stopped", "removed"}
    assert set(TRIGGERS) == {"start", "die", "stop", "kill", "remove", "pause", "unpause", "update", "rename",
                             "restart", "exec", "top", "attach", "adopt", "abort_start", "finish_removal",
                             "network_connect", "network_disconnect", "policy_restart", "abandon_restart",
                             "health_probe", "health_probe_exit", "health_status", "boot_restore"}
    assert {trigger for trigger, _ in CALLS.values()} == set(TRIGGERS)
    assert set(TABLE) == set(itertools.product(STATES, CALLS))


def make(state: str, effects: FakeEffects | None = None, call: str = "") -> tuple[Container, FakeEffects]:
    effects = effects or FakeEffects()
    return Container(ContainerView(row_for(state, call)), effects, **SETUP.get(call, {})), effects


@pytest.mark.parametrize(("state", "call"), sorted(TABLE), ids=[f"{s}-{c}" for s, c in sorted(TABLE)])
def test_transition(state: str, call: str) -> None:
    expected = TABLE[(state, call)]
    trigger, kwargs = CALLS[call]
    container, effects = make(state, call=call)
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
    elif not expected.events and not expected.effects:
        assert result is None


@pytest.mark.parametrize(("state", "call"), sorted(k for k, v in TABLE.items() if isinstance(v, Legal)),
                         ids=[f"{s}-{c}" for s, c in sorted(k for k, v in TABLE.items() if isinstance(v, Legal))])
def test_the_fold_of_a_legal_rows_events_lands_in_its_dest(state: str, call: str) -> None:
    """The machine and the projection can never disagree: the events the row
    records (through `record` and `pending`, in log order, and the start its
    launched monitor records) folded over the row give the row's dest."""
    expected = TABLE[(state, call)]
    assert isinstance(expected, Legal)
    trigger, kwargs = CALLS[call]
    batches: list[Any] = []
    row = row_for(state, call)
    container = Container(ContainerView(row), FakeEffects(), record=batches.extend, **SETUP.get(call, {}))
    container.handle(trigger, **kwargs)
    events = [(e.type, e.payload) for e in [*batches, *container.pending]]
    if state == "removed":  # no row is left to fold over: nothing may have been recorded
        assert events == []
        return
    folded = _fold(row, [*events, *expected.observed])
    assert (folded["state"] if folded else "removed") == expected.dest == container.state


@pytest.mark.parametrize(("state", "call"), sorted(TABLE), ids=[f"{s}-{c}" for s, c in sorted(TABLE)])
def test_may_and_judge_agree_with_the_table_and_change_nothing(state: str, call: str) -> None:
    """The verdict alone (prune, commit's freeze, exec, top, attach ask only
    this): the same answer and words as handle(), no effect asked for."""
    from mydocker.statemachine.machine import judge, may

    expected = TABLE[(state, call)]
    trigger, kwargs = CALLS[call]
    view = ContainerView(row_for(state, call))
    assert may(view, trigger, **SETUP.get(call, {}), **kwargs) == isinstance(expected, Legal)
    if isinstance(expected, Illegal) and not SETUP.get(call):
        with pytest.raises(IllegalTransition) as info:
            judge(view, trigger, **kwargs)
        assert re.fullmatch(expected.message, str(info.value)), str(info.value)
    assert view.state == state


@pytest.mark.parametrize(("state", "due"), [("running", True), ("paused", True), ("created", False),
                                            ("stopped", False)])
def test_a_die_judged_earlier_is_appended_only_while_the_log_shows_the_container_alive(state: str,
                                                                                    due: bool) -> None:
    """stop and rm -f carry a `die` for a lost monitor; if the monitor's own die
    got into the log first, aggregate.append drops ours (recorded once)."""
    from mydocker.statemachine.machine import still_due
    from mydocker.store.events import Event

    view = ContainerView(container_row(state, name=NAME))
    assert still_due(Event("die", EXIT), view) is due
    assert still_due(Event("stop", {"timeout": 1.0}), view)


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


# --- the OCI runtime's verbs: runc's table and words ---------------------------------------

OCI_WORDS = {
    ("start", "running"): "cannot start an already running container",
    ("start", "paused"): "cannot start an already running container",
    ("start", "stopped"): "cannot start a container that has stopped",
    ("kill", "stopped"): "container not running",
    ("delete", "running"): "cannot delete container c1 that is not stopped: running",
    ("delete", "paused"): "cannot delete container c1 that is not stopped: paused",
    ("pause", "created"): "container not running",
    ("pause", "paused"): "container already paused",
    ("pause", "stopped"): "container not running",
    ("resume", "created"): "container not paused",
    ("resume", "running"): "container not paused",
    ("resume", "stopped"): "container not paused",
    ("update", "stopped"): "cannot update container c1: container not running",
    ("exec", "paused"): "cannot exec in a stopped container",
    ("exec", "stopped"): "cannot exec in a stopped container",
}


@pytest.mark.parametrize(("verb", "status"), list(itertools.product(
    ["start", "kill", "kill --all", "delete", "delete --force", "pause", "resume", "update", "exec"],
    ["created", "running", "paused", "stopped"])))
def test_the_oci_verbs_refuse_with_runcs_words(verb: str, status: str) -> None:
    """Every verb from every status the runtime reads off the process: legal, or
    refused in runc's words (what statemachine.oci raises)."""
    from mydocker.statemachine.machine import oci_may, oci_refusal

    assert oci_refusal(verb, status, "c1") == OCI_WORDS.get((verb, status))
    assert oci_may(verb, status) is ((verb, status) not in OCI_WORDS)


def test_the_static_questions_agree_with_the_table() -> None:
    """can/sources (reconcile's survey, ps) read the same rows the machine runs."""
    from mydocker.statemachine.machine import can, sources

    for (state, call), expected in TABLE.items():
        trigger, _ = CALLS[call]
        if isinstance(expected, Legal):
            assert can(state, trigger), (state, call)
    assert sources("adopt", "abort_start") == ["created", "paused", "running"]
    assert sources("abandon_restart") == ["restarting"]
    assert not can("paused", "health_probe") and can("running", "health_probe")
