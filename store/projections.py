"""Pure folds from events to projection rows.

Each apply function takes the current row (as stored, JSON columns as text) and
one event and returns the next row, or None when the aggregate is gone. No I/O:
append() uses them inside its transaction and replay uses them in memory, so the
two can only differ if the stored rows were changed behind the log's back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mydocker.store.events import Event

Row = dict[str, Any]

# json.dumps(value, sort_keys=True) without building its encoder on every call: a
# replay encodes the config of every container it creates (tens of thousands)
_dumps_sorted = json.JSONEncoder(sort_keys=True).encode
_dumps = json.JSONEncoder().encode

_CONTAINER_RUNTIME_RESET = {
    "pid": None,
    "pid_start": None,
    "boot_id": None,
    "monitor_pid": None,
    "monitor_start": None,
}


# The event that ends each kind of aggregate: a stream whose last event is this one folds
# to no row, whatever came before (replay --check skips such streams where it can).
ENDING = {"container": "destroy", "image": "delete", "network": "destroy", "volume": "destroy"}


def _after_creation(row: Row | None, event: "Event", kind: str, ending: str) -> Row | None:
    """What every fold does with an event after the stream's first: one for an
    aggregate never created is a bug, the ending event drops the row, any other
    moves the row to the event's version."""
    if row is None:
        raise ValueError(f"{event.type} event for unknown {kind} {event.stream_id}")
    if event.type == ending:
        return None
    return {**row, "version": event.version}


def apply_container(row: Row | None, event: "Event") -> Row | None:
    p, etype = event.payload, event.type
    if etype == "create":
        return {
            "id": event.stream_id,
            "name": p["name"],
            "version": event.version,
            "state": "created",
            "image": p["image"],
            "image_id": p["image_id"],
            "command": _dumps(p["command"]),
            "config": _dumps_sorted(p["config"]),
            "created_at": event.time,
            "started_at": None,
            "finished_at": None,
            **_CONTAINER_RUNTIME_RESET,
            "exit_code": None,
            "oom_killed": 0,
            "die_reason": None,
            "endpoint": None,
            "restart_count": 0,
            "restart_delay": 0.0,
            "stopped_by_user": 0,
            "health": None,
        }
    row = _after_creation(row, event, "container", ENDING["container"])
    if row is None:
        return None
    if etype == "start":
        if row["state"] != "restarting":  # a user's start: docker resets the restart manager
            row.update(restart_count=0, restart_delay=0.0, stopped_by_user=0)
        row.update(
            health=None,
            state="running",
            started_at=event.time,
            finished_at=None,
            pid=p["pid"],
            pid_start=p["pid_start"],
            boot_id=p["boot_id"],
            monitor_pid=p["monitor_pid"],
            monitor_start=p["monitor_start"],
            exit_code=None,
            oom_killed=0,
            die_reason=None,
        )
    elif etype == "die":
        row.update(
            state="stopped",
            finished_at=event.time,
            exit_code=p["exit_code"],
            oom_killed=int(bool(p.get("oom_killed"))),
            die_reason=p.get("reason"),
            **_CONTAINER_RUNTIME_RESET,
        )
        restart = p.get("restart")
        if restart:  # the policy starts it again after a delay; the sleeper is its monitor
            row.update(state="restarting", restart_count=restart["count"], restart_delay=restart["delay"],
                       monitor_pid=restart["monitor_pid"], monitor_start=restart["monitor_start"])
    elif etype in ("kill", "stop"):
        row["stopped_by_user"] = 1
        if row["state"] == "restarting":  # stopped while waiting to restart: the wait ends
            row.update(state="stopped", **_CONTAINER_RUNTIME_RESET)
    elif etype == "restart_abandoned":  # the sleeper is gone: the last exit stands
        row.update(state="stopped", die_reason=p["reason"], **_CONTAINER_RUNTIME_RESET)
    elif etype == "health_status":
        row["health"] = _dumps_sorted(p["health"])
    elif etype == "rename":
        row["name"] = p["name"]
    # A pause or unpause the monitor's `die` overtook changes nothing: dead stays dead.
    elif etype == "pause" and row["state"] == "running":
        row["state"] = "paused"
    elif etype == "unpause" and row["state"] == "paused":
        row["state"] = "running"
    elif etype == "update":
        config = json.loads(row["config"])
        config["spec"]["limits"] = {**config["spec"].get("limits", {}), **p.get("limits", {})}
        if "restart_policy" in p:
            config["restart_policy"] = p["restart_policy"]
        row["config"] = _dumps_sorted(config)
    elif etype == "adopt":  # a new watcher took over from a lost monitor
        row.update(monitor_pid=p["monitor_pid"], monitor_start=p["monitor_start"])
    elif etype == "connect":
        row["endpoint"] = _endpoints(row["endpoint"], add=p["endpoint"])
    elif etype == "disconnect":  # network_ids: a partial one (`network disconnect` of one of several)
        row["endpoint"] = _endpoints(row["endpoint"], drop=p["network_ids"]) if "network_ids" in p else None
    elif etype in ("network_connect", "network_disconnect"):  # the networks the next start joins
        config = json.loads(row["config"])
        config["network"] = p["network"]
        config["spec"]["network"] = p["network"]["name"]
        config["aliases"] = p.get("aliases", [])
        if "extra_networks" in p:
            config["extra_networks"] = p["extra_networks"]
        row["config"] = _dumps_sorted(config)
    # stop, kill, exec_start, exec_die, commit...: recorded history, no state change.
    return row


def _endpoints(raw: str | None, add: dict[str, Any] | None = None,
               drop: list[str] | tuple[str, ...] = ()) -> str | None:
    """The endpoint column: the first interface's endpoint (eth0, what ports and
    inspect's top level read), the others under "more" by network id."""
    current = json.loads(raw) if raw else None
    by_network: dict[str, Any] = {}
    if current is not None:
        more = current.pop("more", {})
        by_network[current.get("network_id", "")] = current
        by_network.update(more)
    if add is not None:
        by_network[add.get("network_id", "")] = add
    for network_id in drop:
        by_network.pop(network_id, None)
    if not by_network:
        return None
    ordered = sorted(by_network.values(), key=lambda ep: int(ep.get("ifname", "eth0")[3:] or 0))
    first, rest = ordered[0], ordered[1:]
    return _dumps_sorted({**first, "more": {ep["network_id"]: ep for ep in rest}} if rest else first)


def apply_image(row: Row | None, event: "Event") -> Row | None:
    p = event.payload
    if event.type in ("import", "load", "commit", "build") or (event.type == "pull" and "config" in p):
        return {
            "id": event.stream_id,
            "version": event.version,
            "tags": json.dumps(sorted(set(p.get("tags", [])))),
            "created_at": p.get("created") or event.time,
            "size": p["size"],
            "config": json.dumps(p["config"], sort_keys=True),
            "layers": json.dumps(p["layers"]),
        }
    row = _after_creation(row, event, "image", ENDING["image"])
    if row is None:
        return None
    tags = set(json.loads(row["tags"]))
    if event.type == "tag":
        tags.add(p["name"])
    elif event.type == "untag":
        tags.discard(p["name"])
    row["tags"] = json.dumps(sorted(tags))
    return row


def apply_network(row: Row | None, event: "Event") -> Row | None:
    p = event.payload
    if event.type == "create":
        return {
            "id": event.stream_id,
            "name": p["name"],
            "version": event.version,
            "driver": p["driver"],
            "subnet": p["subnet"],
            "gateway": p["gateway"],
            "bridge": p["bridge"],
            "config": json.dumps(p, sort_keys=True),
            "allocations": "{}",
            "created_at": event.time,
        }
    row = _after_creation(row, event, "network", ENDING["network"])
    if row is None:
        return None
    allocations = _allocations(row["allocations"])
    if event.type == "allocate":
        if p["ip"] in allocations:
            # append() runs this inside its transaction: raising rolls the event back,
            # so the log can never say one address was handed out twice.
            raise ValueError(f"address {p['ip']} is allocated already")
        allocations[p["ip"]] = p["endpoint"]
    elif event.type == "release":
        allocations.pop(p["ip"], None)
    # Kept decoded: a busy network folds one allocate or release per container start or
    # death, and re-encoding every address each time made most of the cost of replay.
    # encode_row() turns it into the stored text (the one place that spells it).
    row["allocations"] = allocations
    return row


def _allocations(value: str | dict[str, Any]) -> dict[str, Any]:
    """The allocations to change. A decoded one is changed in place, not copied: only a
    fold holds one (the stored row has text), and a fold drops the row it passed in,
    while copying every address of a busy network per event was a third of what its
    allocate and release events cost. Whoever keeps an earlier row of a fold (none
    does) must copy it: encoded() and encode_row(dict(row)) do."""
    return json.loads(value) if isinstance(value, str) else value


def encode_row(row: Row) -> Row:
    """The row as stored: columns kept decoded by a fold become their JSON text."""
    for key, value in row.items():
        if isinstance(value, dict):
            row[key] = _dumps_sorted(value)
    return row


def apply_volume(row: Row | None, event: "Event") -> Row | None:
    p = event.payload
    if event.type == "create":
        return {
            "id": event.stream_id,
            "version": event.version,
            "driver": p.get("driver", "local"),
            "mountpoint": p["mountpoint"],
            "anonymous": int(bool(p.get("anonymous"))),
            "labels": json.dumps(p.get("labels") or {}, sort_keys=True),
            "created_at": event.time,
        }
    return _after_creation(row, event, "volume", ENDING["volume"])


# stream_type -> (projection table, fold)
PROJECTIONS: dict[str, tuple[str, Callable[[Row | None, "Event"], Row | None]]] = {
    "container": ("containers", apply_container),
    "image": ("images", apply_image),
    "network": ("networks", apply_network),
    "volume": ("volumes", apply_volume),
}
