"""IPAM: subnets, gateways, picking addresses, exhaustion; and its fold."""

from __future__ import annotations

import ipaddress
import json

import pytest
from mydocker.cli.errors import exit_code
from mydocker.statemachine import ipam
from mydocker.statemachine.errors import UserError
from mydocker.store.events import Event
from mydocker.store.projections import apply_network, encode_row

NET = ipaddress.ip_network("10.213.7.0/24")


def test_first_free_address_skips_network_gateway_and_taken():
    assert ipam.pick(NET, "10.213.7.1", []) == "10.213.7.2"
    assert ipam.pick(NET, "10.213.7.1", ["10.213.7.2", "10.213.7.3"]) == "10.213.7.4"
    assert ipam.pick(NET, "10.213.7.254", []) == "10.213.7.1", "a moved gateway frees .1"


def test_gateway_and_broadcast_are_never_allocated():
    small = ipaddress.ip_network("10.213.7.0/29")  # hosts .1-.6
    taken: list[str] = []
    while True:
        try:
            taken.append(ipam.pick(small, "10.213.7.1", taken))
        except UserError:
            break
    assert taken == [f"10.213.7.{i}" for i in range(2, 7)]
    assert "10.213.7.7" not in taken and "10.213.7.0" not in taken


def test_exhaustion_gives_a_clear_error():
    tiny = ipaddress.ip_network("10.213.7.0/30")
    with pytest.raises(UserError, match=r"no available IPv4 addresses on network tiny \(subnet 10.213.7.0/30\)") as e:
        ipam.pick(tiny, "10.213.7.1", ["10.213.7.2"], network_name="tiny")
    assert exit_code(e.value, "run") == 125  # docker's for a run that could not be made


def test_requested_address():
    assert ipam.pick(NET, "10.213.7.1", [], "10.213.7.50") == "10.213.7.50"
    for bad, words in [("10.213.7.50", "already in use"), ("10.213.7.1", "gateway"), ("10.213.7.255", "broadcast"),
                       ("10.213.8.1", "not in the network"), ("nope", "invalid IP")]:
        with pytest.raises(UserError, match=words):
            ipam.pick(NET, "10.213.7.1", ["10.213.7.50"], bad)


@pytest.mark.parametrize("text, words", [
    ("10.213.7.5/24", "it should be 10.213.7.0/24"), ("10.213.7.0/31", "too small"), ("x", "not an IPv4 CIDR"),
    ("fd00::/64", "only IPv4"), ("127.0.0.0/8", "loopback"), ("224.0.0.0/24", "multicast"),
])
def test_bad_subnets(text, words):
    with pytest.raises(UserError, match=words):
        ipam.parse_subnet(text)


def test_gateway_must_be_a_host_of_the_subnet():
    assert ipam.parse_gateway(NET, None) == "10.213.7.1"
    assert ipam.parse_gateway(NET, "10.213.7.254") == "10.213.7.254"
    for bad in ("10.213.7.0", "10.213.7.255", "10.213.8.1", "x"):
        with pytest.raises(UserError):
            ipam.parse_gateway(NET, bad)


def test_overlap():
    assert ipam.overlapping(NET, [("10.213.0.0/16", "a")]) == ("10.213.0.0/16", "a")
    assert ipam.overlapping(NET, [("10.213.8.0/24", "b")]) is None


def test_mac_follows_the_address():
    assert ipam.mac_for("10.213.7.2") == "02:42:0a:d5:07:02"


def _fold(events):
    row = None
    for version, (etype, payload) in enumerate(events, 1):
        row = apply_network(row, Event(etype, payload, stream_id="n" * 64, version=version, time="t"))
    return row


CREATE = ("create", {"name": "n1", "driver": "bridge", "subnet": "10.213.7.0/24", "gateway": "10.213.7.1",
                     "bridge": "mdbr-n", "rules": []})


def test_the_allocation_table_is_folded_from_allocate_and_release():
    ep = {"container": "c1", "veth": "md-c1"}
    row = _fold([CREATE, ("allocate", {"ip": "10.213.7.2", "container": "c1", "endpoint": ep}),
                 ("allocate", {"ip": "10.213.7.3", "container": "c2", "endpoint": {**ep, "container": "c2"}}),
                 ("release", {"ip": "10.213.7.2", "container": "c1"})])
    assert json.loads(encode_row(row)["allocations"]) == {"10.213.7.3": {"container": "c2", "veth": "md-c1"}}
    assert row["version"] == 4
    assert _fold([CREATE, ("destroy", {})]) is None


def test_one_address_cannot_be_allocated_twice_in_the_log():
    ep = {"container": "c1"}
    with pytest.raises(ValueError, match="allocated already"):
        _fold([CREATE, ("allocate", {"ip": "10.213.7.2", "container": "c1", "endpoint": ep}),
               ("allocate", {"ip": "10.213.7.2", "container": "c2", "endpoint": ep})])
