"""Several networks per container, without the kernel: the endpoint column's
fold (eth0 on top, the others under "more"), the networks recorded for the next
start, run's network flags, and the API's several endpoints."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest
from mydocker.cli import network_flags
from mydocker.cli.parsing import UsageError
from mydocker.store.events import Event
from mydocker.store.projections import apply_container

from tests.fakes import CONTAINER_ID, container_row

FRONT = {"mode": "bridge", "id": "n1", "name": "front", "ip": None, "ports": []}
BACK = {"mode": "bridge", "id": "n2", "name": "back", "ip": None, "ports": [], "aliases": ["api"]}


def _apply(row: dict[str, Any], etype: str, payload: dict[str, Any]) -> dict[str, Any]:
    event = Event(etype, payload)
    event.stream_id, event.version, event.time = CONTAINER_ID, row["version"] + 1, "2026-01-01T00:00:09.000000Z"
    folded = apply_container(row, event)
    assert folded is not None
    return folded


def _ep(network_id: str, ifname: str) -> dict[str, Any]:
    return {"network_id": network_id, "ifname": ifname, "ip": f"10.0.{ifname[3:]}.2", "veth": f"md-x.{ifname}"}


def test_endpoints_fold_first_interface_on_top_others_under_more() -> None:
    row = container_row("running", endpoint=None)
    row = _apply(row, "connect", {"endpoint": _ep("n1", "eth0")})
    row = _apply(row, "connect", {"endpoint": _ep("n2", "eth1")})
    column = json.loads(row["endpoint"])
    assert column["network_id"] == "n1" and list(column["more"]) == ["n2"]
    # the second leaves: eth0 alone again
    alone = _apply(row, "disconnect", {"released": ["10.0.1.2"], "network_ids": ["n2"]})
    assert json.loads(alone["endpoint"]) == _ep("n1", "eth0")
    # the first leaves: the second is on top now
    promoted = _apply(row, "disconnect", {"released": ["10.0.0.2"], "network_ids": ["n1"]})
    assert json.loads(promoted["endpoint"]) == _ep("n2", "eth1")
    # a new eth0 goes on top again, the other under it
    back_on_top = _apply(promoted, "connect", {"endpoint": _ep("n3", "eth0")})
    assert json.loads(back_on_top["endpoint"])["network_id"] == "n3"
    # a whole disconnect (a monitor's, at exit) clears every one
    assert _apply(row, "disconnect", {"released": []})["endpoint"] is None


def test_network_connect_records_the_others_for_the_next_start() -> None:
    row = container_row("stopped", endpoint=None)
    row = _apply(row, "network_connect", {"network": FRONT, "aliases": ["web"]})
    row = _apply(row, "network_connect", {"network": FRONT, "aliases": ["web"], "extra_networks": [BACK]})
    config = json.loads(row["config"])
    assert config["network"] == FRONT and config["aliases"] == ["web"] and config["extra_networks"] == [BACK]
    promoted = {**BACK, "ports": []}
    promoted.pop("aliases")
    row = _apply(row, "network_disconnect", {"network": promoted, "left": "front", "aliases": ["api"],
                                             "extra_networks": []})
    config = json.loads(row["config"])
    assert config["spec"]["network"] == "back" and config["aliases"] == ["api"] and config["extra_networks"] == []


def test_network_given_twice_is_refused_with_docker_20_10s_words() -> None:
    assert network_flags.one_network(None) == "bridge"
    assert network_flags.one_network(["front", "front"]) == "front"
    with pytest.raises(UsageError, match="^Container cannot be connected to network endpoints: a, b$"):
        network_flags.one_network(["a", "b"])
    with pytest.raises(UsageError, match="cannot attach both user-defined and non-user-defined"):
        network_flags.one_network(["host", "b"])


@pytest.mark.parametrize(("text", "parsed"), [("db", ["db", "db"]), ("db:alias", ["db", "alias"]),
                                               ("/db:alias", ["db", "alias"])])
def test_link_parsing(text: str, parsed: list[str]) -> None:
    assert network_flags.parse_link(text) == parsed


@pytest.mark.parametrize(("parse", "text"), [(network_flags.parse_link, "a:b:c"), (network_flags.parse_link, ":x"),
                                              (network_flags.parse_mac, "02:42:ac:11:00"),
                                              (network_flags.parse_ip6, "10.0.0.1")])
def test_bad_network_flag_values(parse: Any, text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)


def test_api_create_with_several_endpoints() -> None:
    from mydocker.cli.api.create_body import create_argv

    argv, after = create_argv({"Image": "busybox", "HostConfig": {"NetworkMode": "back"}, "NetworkingConfig": {
        "EndpointsConfig": {"front": {"Aliases": ["f"], "IPAMConfig": {"IPv4Address": "10.1.0.9"}},
                            "back": {"Aliases": ["b"]}}}}, None)
    assert "--network-alias" in argv and argv[argv.index("--network-alias") + 1] == "b" and "--ip" not in argv
    assert after["config_extra"]["extra_network_requests"] == [{"name": "front", "aliases": ["f"],
                                                                "ip": "10.1.0.9"}]
