"""Parsing -p/--publish like docker."""

from __future__ import annotations

import pytest
from mydocker.cli.parsing import UsageError
from mydocker.cli.ports import format_ports, parse_all, parse_publish


def b(host_port, container_port, proto="tcp", host_ip=""):
    return {"host_ip": host_ip, "host_port": host_port, "container_port": container_port, "proto": proto}


@pytest.mark.parametrize("spec, want", [
    ("8080:80", [b(8080, 80)]),
    ("8080:80/tcp", [b(8080, 80)]),
    ("5353:53/udp", [b(5353, 53, "udp")]),
    ("5353:53/UDP", [b(5353, 53, "udp")]),
    ("127.0.0.1:8080:80", [b(8080, 80, host_ip="127.0.0.1")]),
    ("0.0.0.0:8080:80", [b(8080, 80)]),
    ("8080-8081:80-81", [b(8080, 80), b(8081, 81)]),
])
def test_good_specs(spec, want):
    assert parse_publish(spec) == want


@pytest.mark.parametrize("spec", [
    "80x", "x:80", "8080:y", "0:80", "8080:65536", "8080:80/sctp", "1.2.3:8080:80", "::1:8080:80",
    "8080-8082:80-81", "8081-8080:80-79", "a:b:c:d", "",
])
def test_bad_specs(spec):
    with pytest.raises(UsageError):
        parse_publish(spec)


def test_many_and_formatting():
    ports = parse_all(["8080:80", "127.0.0.1:5353:53/udp"])
    assert format_ports(ports) == "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp"


@pytest.mark.parametrize(("spec", "expected"), [
    ("80", [{"host_ip": "", "host_port": 0, "container_port": 80, "proto": "tcp"}]),
    ("127.0.0.1::53/udp", [{"host_ip": "127.0.0.1", "host_port": 0, "container_port": 53, "proto": "udp"}]),
])
def test_container_port_alone_asks_for_a_free_host_port(spec, expected):
    assert parse_publish(spec) == expected


def test_bad_container_port_in_dockers_words():
    with pytest.raises(UsageError, match="^Invalid containerPort: 80x$"):
        parse_publish("80x")
