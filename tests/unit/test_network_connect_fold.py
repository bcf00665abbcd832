"""network connect/disconnect as the projection folds them: the network the next
start joins (config and spec), its aliases; and what teardown takes as "has a
network" (the config, or an endpoint the log shows)."""

from __future__ import annotations

import json
from typing import Any

from mydocker.statemachine.effects import has_network
from mydocker.statemachine.queries import ContainerView
from mydocker.store.events import Event
from mydocker.store.projections import apply_container

from tests.fakes import CONTAINER_ID, container_row

FRONT = {"mode": "bridge", "id": "n1", "name": "front", "ip": None, "ports": []}
LEFT = {"mode": "none", "id": None, "name": "none", "ip": None, "ports": [], "disconnected": True}


def _apply(row: dict[str, Any], etype: str, payload: dict[str, Any]) -> dict[str, Any]:
    event = Event(etype, payload)
    event.stream_id, event.version, event.time = CONTAINER_ID, row["version"] + 1, "2026-01-01T00:00:09.000000Z"
    folded = apply_container(row, event)
    assert folded is not None
    return folded


def test_connect_then_disconnect_change_the_network_the_next_start_joins() -> None:
    row = container_row("stopped", endpoint=None)
    assert not has_network(ContainerView(row))
    connected = _apply(row, "network_connect", {"network": FRONT, "aliases": ["web"]})
    config = json.loads(connected["config"])
    assert (config["network"], config["spec"]["network"], config["aliases"]) == (FRONT, "front", ["web"])
    assert connected["state"] == "stopped" and has_network(ContainerView(connected))
    left = _apply(connected, "network_disconnect", {"network": LEFT, "left": "front"})
    config = json.loads(left["config"])
    assert (config["network"], config["spec"]["network"], config["aliases"]) == (LEFT, "none", [])
    assert not has_network(ContainerView(left))


def test_an_endpoint_in_the_log_is_a_network_to_release_whatever_the_config_says() -> None:
    """A hot-plug that crashed between its `connect` and its `network_connect`."""
    row = container_row("running", endpoint=None)
    plugged = _apply(row, "connect", {"endpoint": {"ip": "10.0.0.2", "veth": "md-c0ffee000000"}})
    assert json.loads(plugged["config"])["spec"]["network"] == "none"
    assert has_network(ContainerView(plugged))
