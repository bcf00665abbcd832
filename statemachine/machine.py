"""The container aggregate: a `transitions` Machine per container.

The table below is the whole lifecycle. A trigger that the table does not allow
from the current state raises before any callback runs, so log, disk and kernel
stay untouched; a legal one runs its side effects (through Effects, which the
unit tests fake) and leaves the events to append in `pending`.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from mydocker.core.crashpoints import crash
from mydocker.statemachine.errors import IllegalTransition
from mydocker.statemachine.queries import ContainerView
from mydocker.store.events import Event

if TYPE_CHECKING:
    from transitions import EventData

# `transitions` is imported where a machine is built: the table's static questions
# (can, is_alive, the OCI verbs) are asked by reconcile's survey, `ps` and the OCI
# runtime's fast paths, which must not pay for the library.

STATES = ["created", "running", "paused", "restarting", "stopped", "removed"]
ALIVE = ("running", "paused")  # states with a live init (docker: State.Running is true for both)
NOT_ALIVE = ("created", "restarting", "stopped", "removed")
LIVE_OR_NOT = ["created", "running", "paused", "restarting", "stopped"]  # every state a container still has

# Restart policies (statemachine.restart_policy decides): the monitor's own exit
# path may hand the container to a lean sleeper that starts it again after the
# backoff; while it waits the container is `restarting` (no init, the sleeper as
# its monitor). A user's stop, kill or rm -f ends the wait; the sleeper, once
# awake, asks for `policy_restart` and only the sleeper the log names is heard.
# These rows come first: for one trigger and source the first that fits wins.
RESTART_ROWS: list[dict[str, Any]] = [
    {"trigger": "die", "source": ALIVE, "dest": "restarting", "conditions": ["_same_run", "_policy_restarts"],
     "before": ["_schedule_restart", "_release"]},
    {"trigger": "policy_restart", "source": "restarting", "dest": "running", "conditions": "_its_sleeper",
     "before": ["_launch", "_policy_restarted"]},
    {"trigger": "stop", "source": "restarting", "dest": "stopped", "before": ["_cancel_restart", "_stopped_waiting"]},
    {"trigger": "kill", "source": "restarting", "dest": "stopped", "before": ["_cancel_restart", "_killed_waiting"]},
    {"trigger": "remove", "source": "restarting", "dest": "removed", "conditions": "_forced",
     "before": ["_cancel_restart", "_teardown"]},
    {"trigger": "restart", "source": "restarting", "dest": "running",
     "before": ["_cancel_restart", "_stopped_waiting", "_flush", "_launch", "_restarted"]},
    {"trigger": "start", "source": "restarting", "dest": None, "before": "_ignore"},  # docker: already started
    # recovery: the sleeper is gone (host reboot, killed): the wait is over, the last exit stands
    {"trigger": "abandon_restart", "source": "restarting", "dest": "stopped", "before": "_abandon_restart"},
]

# Rows are tried in order: for one trigger and source the first whose conditions
# hold wins. `dest: None` keeps the state; `_ignore` rows are explicit no-ops.
TRANSITIONS: list[dict[str, Any]] = [
    *RESTART_ROWS,
    {"trigger": "start", "source": ["created", "stopped"], "dest": "running", "before": "_launch"},
    # docker: starting a running container is nothing to do, and succeeds
    {"trigger": "start", "source": "running", "dest": None, "before": "_ignore"},
    # the exit of this run (a `pid` names the run that died) ...
    {"trigger": "die", "source": ALIVE, "dest": "stopped", "conditions": "_same_run",
     "before": ["_record_die", "_release"]},
    # ... or of an earlier run, or one the log has already: recorded once, by whoever saw it first
    {"trigger": "die", "source": ALIVE, "dest": None, "before": "_ignore"},
    {"trigger": "die", "source": NOT_ALIVE, "dest": None, "before": "_ignore"},
    {"trigger": "stop", "source": ALIVE, "dest": "stopped", "before": "_stop"},
    # docker: a signal to a paused container is delivered, then the container resumes
    {"trigger": "kill", "source": "running", "dest": None, "before": "_kill"},
    {"trigger": "kill", "source": "paused", "dest": "running", "before": ["_kill", "_thaw"]},
    {"trigger": "pause", "source": "running", "dest": "paused", "before": "_pause"},
    {"trigger": "unpause", "source": "paused", "dest": "running", "before": "_unpause"},
    {"trigger": "restart", "source": ALIVE, "dest": "running", "before": ["_stop", "_flush", "_launch", "_restarted"]},
    {"trigger": "restart", "source": ["created", "stopped"], "dest": "running", "before": ["_launch", "_restarted"]},
    # commands that only look or join, asking the machine first: a process joins
    # the namespaces of a running init (exec records its own events), top lists
    # the processes of a live one, attach follows a running one's output
    {"trigger": "exec", "source": "running", "dest": None},
    {"trigger": "top", "source": ALIVE, "dest": None},
    {"trigger": "attach", "source": "running", "dest": None},
    {"trigger": "update", "source": LIVE_OR_NOT, "dest": None, "before": "_update"},
    {"trigger": "rename", "source": LIVE_OR_NOT, "dest": None, "before": "_rename"},
    # network connect/disconnect: plugged into (or out of) a live init's netns at
    # once, otherwise recorded for the next start
    {"trigger": "network_connect", "source": LIVE_OR_NOT, "dest": None, "before": "_network_connect"},
    {"trigger": "network_disconnect", "source": LIVE_OR_NOT, "dest": None, "before": "_network_disconnect"},
    {"trigger": "remove", "source": ["created", "stopped"], "dest": "removed", "before": "_teardown"},
    {"trigger": "remove", "source": ALIVE, "dest": "removed", "conditions": "_forced",
     "before": ["_kill_for_removal", "_teardown"]},
    # recovery (statemachine.reconcile): a watcher takes over from a lost monitor ...
    {"trigger": "adopt", "source": ALIVE, "dest": None, "before": "_adopt"},
    # ... a start that crashed before its init ran gives back its cgroups ...
    {"trigger": "abort_start", "source": "created", "dest": None, "before": "_abort_start"},
    # ... and an rm that logged `destroying` and crashed is finished
    {"trigger": "finish_removal", "source": LIVE_OR_NOT, "dest": "removed", "conditions": "_removal_begun",
     "before": "_finish_teardown"},
    # health checks (statemachine.health_check): docker probes a running container
    # only (its health monitor stops on pause and exit), each probe an exec of its own
    # (exec_start ... exec_die); a result counts only for the run it probed
    {"trigger": "health_probe", "source": "running", "dest": None, "conditions": "_same_run",
     "before": "_health_probe"},
    # the probe's exec ended: history while the container has a stream, as exec's exec_die
    {"trigger": "health_probe_exit", "source": LIVE_OR_NOT, "dest": None, "before": "_health_probe_exit"},
    {"trigger": "health_status", "source": "running", "dest": None, "conditions": "_same_run",
     "before": "_health_status"},
    # `system restore` at boot (dockerd's restore): a stopped container whose policy
    # says so starts again
    {"trigger": "boot_restore", "source": "stopped", "dest": "running", "conditions": "_restored_at_boot",
     "before": "_launch"},
]
TRIGGERS = sorted({t["trigger"] for t in TRANSITIONS})
_SOURCES: dict[str, frozenset[str]] = {
    trigger: frozenset(s for t in TRANSITIONS if t["trigger"] == trigger
                       for s in ([t["source"]] if isinstance(t["source"], str) else t["source"]))
    for trigger in TRIGGERS}


def can(state: str, trigger: str) -> bool:
    """Has the table a row for this trigger from this state (its conditions
    aside)? The static question, for code that holds a state but no view:
    reconcile's survey, `ps`'s health column."""
    return state in _SOURCES[trigger]


def sources(*triggers: str) -> list[str]:
    """The states any of these triggers may start from (for SQL filters)."""
    return sorted(set().union(*(_SOURCES[t] for t in triggers)))


def is_alive(state: str) -> bool:
    """Has a container in this state a live init (docker: State.Running)?"""
    return state in ALIVE


class Effects(Protocol):
    """The side effects the machine asks for; statemachine.effects has the real ones."""

    def launch(self, view: ContainerView, attached: bool) -> Any: ...

    def stop(self, view: ContainerView, timeout: float) -> dict[str, Any] | None: ...

    def signal(self, view: ContainerView, sig: int) -> None: ...

    def kill(self, view: ContainerView) -> dict[str, Any] | None: ...

    def release(self, view: ContainerView) -> None: ...

    def teardown(self, view: ContainerView) -> None: ...

    def freeze(self, view: ContainerView) -> None: ...

    def thaw(self, view: ContainerView) -> None: ...

    def update(self, view: ContainerView, limits: dict[str, Any]) -> None: ...

    def adopt(self, view: ContainerView) -> tuple[int, int]: ...

    def connect_network(self, view: ContainerView, network: dict[str, Any]) -> None: ...

    def disconnect_network(self, view: ContainerView, network_id: str | None = None) -> None: ...

    def schedule_restart(self, view: ContainerView, delay: float) -> tuple[int, int]: ...

    def cancel_restart(self, view: ContainerView) -> None: ...


class Container:
    """One container's state machine; `state` is set by transitions."""

    state: str

    def __init__(self, view: ContainerView, effects: Effects,
                 record: Callable[[list[Event]], None] | None = None, last_event: str | None = None) -> None:
        from transitions import Machine

        self.view = view
        self.last_event = last_event  # the stream's newest event type: a `destroying` means rm began
        self.effects = effects
        self.record = record
        self.pending: list[Event] = []
        self.result: Any = None
        Machine(model=self, states=STATES, transitions=TRANSITIONS, initial=view.state,
                auto_transitions=False, send_event=True)

    def handle(self, trigger: str, **kwargs: Any) -> Any:
        """Run a trigger; IllegalTransition (with docker's words) if not allowed."""
        from transitions import MachineError

        try:
            done = self.trigger(trigger, **kwargs)  # type: ignore[attr-defined]
        except MachineError:
            raise IllegalTransition(refusal(trigger, self.view, kwargs)) from None
        if not done:
            raise IllegalTransition(refusal(trigger, self.view, kwargs))
        return self.result

    def ended(self) -> bool:
        """Has the stream come to its end (removed)?"""
        return self.state == "removed"

    # conditions
    def _forced(self, event: EventData) -> bool:
        return bool(event.kwargs.get("force"))

    def _same_run(self, event: EventData) -> bool:
        return "pid" not in event.kwargs or event.kwargs["pid"] == self.view.row["pid"]

    def _removal_begun(self, event: EventData) -> bool:
        return self.last_event == "destroying"

    def _policy_restarts(self, event: EventData) -> bool:
        """Only the monitor's own exit path can hand over to a sleeper (restartable)."""
        from mydocker.statemachine import restart_policy

        if not event.kwargs.get("restartable"):
            return False
        row = self.view.row
        exit_code = int(event.kwargs["exit"]["exit_code"])
        return restart_policy.should_restart(restart_policy.of(self.view.config), exit_code,
                                             bool(row.get("stopped_by_user")), int(row.get("restart_count") or 0))

    def _restored_at_boot(self, event: EventData) -> bool:
        from mydocker.statemachine import restart_policy

        row = self.view.row
        return restart_policy.at_boot(restart_policy.of(self.view.config), int(row.get("exit_code") or 0),
                                      bool(row.get("stopped_by_user")))

    def _its_sleeper(self, event: EventData) -> bool:
        return event.kwargs.get("sleeper") == self.view.row["monitor_pid"]

    # no-op rows
    def _ignore(self, event: EventData) -> None:
        self.result = None

    # side effects
    def _launch(self, event: EventData) -> None:
        self.result = self.effects.launch(self.view, bool(event.kwargs.get("attached")))

    def _release(self, event: EventData) -> None:
        self.effects.release(self.view)

    def _record_die(self, event: EventData) -> None:
        # Recorded before the release kills what is left, so a monitor that sees
        # the death meanwhile finds it already explained and adds nothing.
        self._record_now(Event("die", dict(event.kwargs["exit"])))

    def _record_now(self, event: Event) -> None:
        """Log an intent before acting on it (kill before the signal), so the log
        reads in the order things happened and a crash mid-command is visible."""
        if self.record is not None:
            self.record([event])
        else:
            self.pending.append(event)

    def _stop(self, event: EventData) -> None:
        from mydocker.statemachine.stopping import stop_signal, stop_timeout

        timeout = stop_timeout(self.view.config, event.kwargs.get("timeout"))
        self._record_now(Event("kill", {"signal": stop_signal(self.view.config), "timeout": timeout}))
        crash("stop.after-kill-event")
        died = self.effects.stop(self.view, timeout)
        if died is not None:  # unless the monitor recorded it first: before the release, as _record_die
            self._record_now(Event("die", died))
        self.effects.release(self.view)
        self.pending.append(Event("stop", {"timeout": timeout}))

    def _kill(self, event: EventData) -> None:
        sig = int(event.kwargs.get("signal", signal.SIGKILL))
        self._record_now(Event("kill", {"signal": sig}))
        self.effects.signal(self.view, sig)

    def _thaw(self, event: EventData) -> None:
        # Logged before the thaw: once thawed, the signal may end the container and
        # its monitor's `die` must come after this in the log.
        self._record_now(Event("unpause", {}))
        self.effects.thaw(self.view)

    def _pause(self, event: EventData) -> None:
        self.effects.freeze(self.view)
        self.pending.append(Event("pause", {}))

    def _unpause(self, event: EventData) -> None:
        self._record_now(Event("unpause", {}))
        self.effects.thaw(self.view)

    def _update(self, event: EventData) -> None:
        """New limits: live on the cgroups of a container that has them, recorded
        for every state so the next start applies them too."""
        limits = dict(event.kwargs["limits"])
        policy = event.kwargs.get("restart_policy")
        if policy and policy.get("Name") != "no" and self.view.config.get("autoremove"):
            from mydocker.statemachine.errors import UserError

            raise UserError(f"Cannot update container {self.view.id}: Restart policy cannot be updated "
                                  "because AutoRemove is enabled for the container")
        if self.view.state in ALIVE and limits:
            self.effects.update(self.view, limits)
        payload: dict[str, Any] = {"limits": limits}
        if event.kwargs.get("restart_policy") is not None:  # update --restart: read by the next exit
            payload["restart_policy"] = event.kwargs["restart_policy"]
        self.pending.append(Event("update", payload))

    def _rename(self, event: EventData) -> None:
        self.pending.append(Event("rename", {"name": event.kwargs["name"], "old_name": self.view.name}))

    def _network_connect(self, event: EventData) -> None:
        network = dict(event.kwargs["network"])
        if self.view.state in ALIVE:  # joined: a network besides its first, hot-plugged as eth1...
            self.effects.connect_network(self.view, dict(event.kwargs.get("joined") or network))
        payload: dict[str, Any] = {"network": network, "aliases": list(event.kwargs.get("aliases", []))}
        if "extra_networks" in event.kwargs:
            payload["extra_networks"] = list(event.kwargs["extra_networks"])
        self.pending.append(Event("network_connect", payload))

    def _network_disconnect(self, event: EventData) -> None:
        if self.view.state in ALIVE:
            self.effects.disconnect_network(self.view, event.kwargs.get("network_id"))
        payload: dict[str, Any] = {"network": dict(event.kwargs["network"]), "left": event.kwargs.get("left", "")}
        if "extra_networks" in event.kwargs:
            payload["aliases"] = list(event.kwargs.get("aliases", []))
            payload["extra_networks"] = list(event.kwargs["extra_networks"])
        self.pending.append(Event("network_disconnect", payload))

    def _flush(self, event: EventData) -> None:
        """What is pending goes to the log now: restart's stop must be there before
        the new run's monitor records its start."""
        if self.record is not None and self.pending:
            self.record(self.pending)
            self.pending = []

    def _restarted(self, event: EventData) -> None:
        from mydocker.statemachine.stopping import stop_timeout

        self.pending.append(Event("restart", {"timeout": stop_timeout(self.view.config, event.kwargs.get("timeout"))}))

    # restart policy
    def _schedule_restart(self, event: EventData) -> None:
        from mydocker.statemachine import restart_policy

        row = self.view.row
        delay = restart_policy.next_delay(float(row.get("restart_delay") or 0),
                                          restart_policy.seconds_since(row.get("started_at")))
        pid, start = self.effects.schedule_restart(self.view, delay)
        restart = {"count": int(row.get("restart_count") or 0) + 1, "delay": delay,
                   "monitor_pid": pid, "monitor_start": start}
        self._record_now(Event("die", {**event.kwargs["exit"], "restart": restart}))

    # health checks
    def _health_probe(self, event: EventData) -> None:
        self.pending.append(Event("exec_start", {
            "exec_id": event.kwargs["exec_id"], "argv": list(event.kwargs["argv"]), "health_check": True,
            "pid": self.view.row["pid"], "pid_start": self.view.row["pid_start"]}))

    def _health_probe_exit(self, event: EventData) -> None:
        self.pending.append(Event("exec_die", {"exec_id": event.kwargs["exec_id"],
                                               "exit_code": int(event.kwargs["exit_code"])}))

    def _health_status(self, event: EventData) -> None:
        health = event.kwargs["health"]
        self.pending.append(Event("health_status", {
            "status": health["Status"], "health": {"Status": health["Status"],
                                                   "FailingStreak": health["FailingStreak"]}}))

    def _policy_restarted(self, event: EventData) -> None:
        from mydocker.statemachine import restart_policy

        self.pending.append(Event("restart", {"policy": restart_policy.of(self.view.config)["Name"],
                                              "count": int(self.view.row.get("restart_count") or 0)}))

    def _cancel_restart(self, event: EventData) -> None:
        self.effects.cancel_restart(self.view)

    def _stopped_waiting(self, event: EventData) -> None:
        from mydocker.statemachine.stopping import stop_timeout

        self.pending.append(Event("stop", {"timeout": stop_timeout(self.view.config, event.kwargs.get("timeout"))}))

    def _killed_waiting(self, event: EventData) -> None:
        self.pending.append(Event("kill", {"signal": int(event.kwargs.get("signal", signal.SIGKILL))}))

    def _abandon_restart(self, event: EventData) -> None:
        # Not a `die`: the exit was recorded when the wait began, and an observed
        # exit of a container that is not alive is no news (still_due).
        self.pending.append(Event("restart_abandoned", {"reason": event.kwargs.get("reason", "monitor lost")}))

    def _adopt(self, event: EventData) -> None:
        pid, start = self.effects.adopt(self.view)
        self.pending.append(Event("adopt", {"monitor_pid": pid, "monitor_start": start,
                                            "reason": event.kwargs.get("reason", "monitor lost")}))

    def _abort_start(self, event: EventData) -> None:
        self.effects.release(self.view)
        self.pending.append(Event("start_aborted", {"reason": event.kwargs.get("reason", "start did not finish")}))

    def _finish_teardown(self, event: EventData) -> None:
        self.effects.teardown(self.view)
        self.pending.append(Event("destroy", self._undo()))

    def _kill_for_removal(self, event: EventData) -> None:
        self._record_now(Event("kill", {"signal": int(signal.SIGKILL)}))
        crash("rm.after-kill-event")
        died = self.effects.kill(self.view)
        if died is not None:  # now: teardown logs `destroying` at once, and the death came first
            self._record_now(Event("die", died))
        self.effects.release(self.view)

    def _undo(self) -> dict[str, Any]:
        config = self.view.config
        return {"cgroups": config.get("spec", {}).get("cgroups", {}), "directory": config.get("directory", "")}

    def _teardown(self, event: EventData) -> None:
        undo = self._undo()
        # The intent goes first: if we die halfway, recovery sees `destroying`
        # without `destroy` and finishes the same idempotent teardown.
        self._record_now(Event("destroying", undo))
        crash("rm.after-destroying")
        self.effects.teardown(self.view)
        self.pending.append(Event("destroy", undo))


def may(view: ContainerView, trigger: str, last_event: str | None = None, **kwargs: Any) -> bool:
    """Would the table accept this trigger now? Conditions are evaluated, no
    callback runs: nothing is changed and no effect is asked for."""
    machine = Container(view, cast(Effects, None), last_event=last_event)
    return bool(getattr(machine, f"may_{trigger}")(**kwargs))


def judge(view: ContainerView, trigger: str, **kwargs: Any) -> None:
    """The verdict alone, for commands whose row asks for no effect (exec, top,
    attach): IllegalTransition with docker's words if the table refuses."""
    if not may(view, trigger, **kwargs):
        raise IllegalTransition(refusal(trigger, view, kwargs))


def alive(view: ContainerView) -> bool:
    """Has the container a live init (running or paused)?"""
    return view.state in ALIVE


def still_due(event: Event, view: ContainerView) -> bool:
    """An event judged at one version and appended at a later one: is it still
    news? An observed exit is not once the log shows the container not alive
    (the monitor's `die`, with the true status, got there first)."""
    return not (event.type == "die" and not alive(view))


def refusal(trigger: str, view: ContainerView, kwargs: dict[str, Any] | None = None) -> str:
    """What docker says when this command does not fit the container's state."""
    ident = view.id
    if view.state == "restarting":
        if trigger in ("exec", "pause", "top"):
            return f"Container {ident} is restarting, wait until the container is running"
        if trigger == "attach":
            return "You cannot attach to a restarting container, wait until it is running"
        if trigger == "remove":
            return (f"You cannot remove a restarting container {ident}. "
                    "Stop the container before attempting removal or force remove")
    if trigger == "exec":
        if view.state == "paused":
            return f"Container {(kwargs or {}).get('ref', ident)} is paused, unpause the container before exec"
        return f"container {ident} is not running"
    if trigger == "attach":
        if view.state == "paused":
            return "You cannot attach to a paused container, unpause it first"
        return "You cannot attach to a stopped container, start it first"
    if view.state == "paused":
        if trigger == "start":
            return "cannot start a paused container, try unpause instead"
        if trigger == "remove":
            return (f"You cannot remove a paused container {ident}. "
                    "Unpause and then stop the container before attempting removal or force remove")
        if trigger == "pause":
            return f"Container {ident} is already paused"
    if trigger == "unpause":
        return f"Container {ident} is not paused"
    if trigger in ("pause", "top"):
        return f"Container {ident} is not running"
    if trigger == "remove" and view.state == "running":
        return (f"You cannot remove a running container {ident}. "
                "Stop the container before attempting removal or force remove")
    if trigger == "kill":
        return f"Cannot kill container: {view.name}: Container {ident} is not running"
    if trigger in ("stop", "die"):
        return f"Container {view.name} is not running"
    if trigger == "start":
        return f"Container {view.name} cannot be started from state {view.state}"
    return f"Cannot {trigger} container {view.name} in state {view.state}"


# --- the OCI runtime's verbs (statemachine.oci) ------------------------------------------
# Judged on the status the runtime reads from the container's own process (created:
# its init waits on exec.fifo; running; paused: frozen; stopped: gone), before the
# log's machine is asked: the log may not know the container (state made before the
# log moved), and runc's words are what its callers (containerd, podman) expect.
OCI_STATUSES = ("created", "running", "paused", "stopped")
_OCI_WITH_INIT = ("created", "running", "paused")
OCI_LEGAL: dict[str, tuple[str, ...]] = {
    "start": ("created",),
    "kill": _OCI_WITH_INIT,
    "kill --all": OCI_STATUSES,  # the cgroup's processes may outlive the init
    "delete": ("created", "stopped"),
    "delete --force": OCI_STATUSES,
    "pause": ("running",),
    "resume": ("paused",),
    "update": _OCI_WITH_INIT,
    "exec": ("created", "running"),
}


def oci_may(verb: str, status: str) -> bool:
    return status in OCI_LEGAL[verb]


def oci_has_init(status: str) -> bool:
    """Is the container's init still there (the state's pid is meaningful)?"""
    return status in _OCI_WITH_INIT


def oci_refusal(verb: str, status: str, container_id: str) -> str | None:
    """runc's words when the verb does not fit the status; None when it does."""
    if oci_may(verb, status):
        return None
    if verb == "start":
        return ("cannot start a container that has stopped" if status == "stopped"
                else "cannot start an already running container")
    if verb in ("kill", "kill --all"):
        return "container not running"
    if verb in ("delete", "delete --force"):
        return f"cannot delete container {container_id} that is not stopped: {status}"
    if verb == "pause":
        return "container already paused" if status == "paused" else "container not running"
    if verb == "resume":
        return "container not paused"
    if verb == "update":
        return f"cannot update container {container_id}: container not running"
    return "cannot exec in a stopped container"
