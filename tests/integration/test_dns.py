"""The embedded DNS server at 127.0.0.11 on user-defined networks (docker's).

Every query stays among this test's objects: the containers' --dns is the
network's gateway, where the test itself runs the only upstream server (a
socket bound to that address, which its own bridge holds)."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from mydocker.core import dnsserver

from tests.integration.conftest import _checked_runtime, free_subnet

REPO = Path(__file__).resolve().parents[2]
OUTSIDE = "outside.dns10.test"
OUTSIDE_IP = "10.99.88.77"  # only ever an answer, never an address anything is sent to


class FakeUpstream:
    """Answers OUTSIDE with OUTSIDE_IP, anything else NXDOMAIN; notes what it was asked."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 53))
        self.asked: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, client = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dnsserver.parse_query(data)
            if query is None:
                continue
            self.asked.append(query.name)
            if query.name == OUTSIDE:  # no AAAA: NOERROR with no answer
                a = query.qtype == dnsserver.A
                reply = dnsserver.response(query, 0, dnsserver.A, [socket.inet_aton(OUTSIDE_IP)] if a else [])
            else:
                reply = dnsserver.response(query, 3)
            self.sock.sendto(reply, client)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory):
    """One runtime for the module: a user network, two peers (one with an alias)
    and the fake upstream on the network's gateway."""
    for md in _checked_runtime(Path(tmp_path_factory.mktemp("dns"))):
        subnet = ipaddress.ip_network(free_subnet())
        gateway = str(subnet[1])
        md.ok("network", "create", "--subnet", str(subnet), "dnsnet")
        upstream = FakeUpstream(gateway)
        dns = ["--network", "dnsnet", "--dns", gateway]
        try:
            md.ok("run", "-d", "--name", "one", *dns, "--network-alias", "uno", "busybox", "sleep", "1000")
            md.ok("run", "-d", "--name", "two", *dns, "busybox", "sleep", "1000")
            yield md, upstream, gateway
        finally:
            md("rm", "-f", "one", "two")
            md("network", "rm", "dnsnet")
            upstream.close()


def _ip(md, name: str) -> str:
    return md.inspect(name)["NetworkSettings"]["Networks"]["dnsnet"]["IPAddress"]


def test_resolv_conf_points_at_the_embedded_server(net) -> None:
    md, _, gateway = net
    assert md.ok("exec", "two", "cat", "/etc/resolv.conf") == "nameserver 127.0.0.11\noptions ndots:0\n"
    searching = md.ok("run", "--rm", "--network", "dnsnet", "--dns", gateway, "--dns-search", "corp.test",
                      "busybox", "cat", "/etc/resolv.conf")
    assert searching == "search corp.test\nnameserver 127.0.0.11\noptions ndots:0\n"


def test_peers_and_aliases_resolve_by_dns(net) -> None:
    md, upstream, _ = net
    one = _ip(md, "one")
    direct = md.ok("exec", "two", "nslookup", "one", "127.0.0.11")
    assert f"Address: {one}" in direct
    # through resolv.conf, as any resolver would: the alias too
    assert f"Address: {one}" in md.ok("exec", "two", "nslookup", "uno")
    assert f"Address: {_ip(md, 'two')}" in md.ok("exec", "one", "nslookup", "two")
    assert f"Address: {one}" in md.ok("exec", "two", "nslookup", "one.dnsnet")  # NAME.NETWORK, as docker
    assert not {"one", "uno", "two", "one.dnsnet"} & set(upstream.asked)  # answered, not forwarded


def test_tcp_is_answered_too(net) -> None:
    """Clients retry over TCP when a reply is truncated: the server listens there
    as well. Asked from the container's netns by this test's own interpreter."""
    md, _, _ = net
    pid = md.inspect("two")["State"]["Pid"]
    code = ("import socket, struct, sys; sys.path.insert(0, sys.argv[1]); from tests.unit.test_dnsserver import"
            " query, decode; s = socket.create_connection(('127.0.0.11', 53), timeout=5); q = query('uno');"
            " s.sendall(struct.pack('!H', len(q)) + q); n = struct.unpack('!H', s.recv(2))[0]; data = b''\n"
            "while len(data) < n: data += s.recv(n - len(data))\n"
            "print(socket.inet_ntoa(decode(data)[2][0]))")
    out = subprocess.run(["nsenter", "-t", str(pid), "-n", sys.executable, "-c", code, str(REPO)],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == _ip(md, "one"), out.stderr


def test_unknown_names_go_to_the_containers_dns_servers(net) -> None:
    md, upstream, _ = net
    assert f"Address: {OUTSIDE_IP}" in md.ok("exec", "one", "nslookup", OUTSIDE)
    assert OUTSIDE in upstream.asked
    failed = md("exec", "one", "nslookup", "nosuch.dns10.test")
    assert failed.code != 0 and "nosuch.dns10.test" in upstream.asked


def test_a_foreground_container_resolves_too(net) -> None:
    md, _, gateway = net
    out = md.ok("run", "--rm", "--network", "dnsnet", "--dns", gateway, "busybox", "nslookup", "one")
    assert f"Address: {_ip(md, 'one')}" in out


def test_the_default_bridge_keeps_its_resolv_conf(net) -> None:
    md, _, gateway = net
    assert md.ok("run", "--rm", "--dns", gateway, "busybox", "cat", "/etc/resolv.conf") == f"nameserver {gateway}\n"


def test_a_removed_peer_stops_resolving(net) -> None:
    md, _, gateway = net
    md.ok("run", "-d", "--name", "gone", "--network", "dnsnet", "--dns", gateway, "busybox", "sleep", "1000")
    assert f"Address: {_ip(md, 'gone')}" in md.ok("exec", "two", "nslookup", "gone")
    md.ok("rm", "-f", "gone")
    after = md("exec", "two", "nslookup", "gone")
    assert after.code != 0 and "Address: 10." not in after.out.split("Address:\t127.0.0.11:53")[-1]


def test_connecting_a_running_container_starts_its_server(net) -> None:
    """docker starts the resolver when a running container joins its first
    user-defined network: resolv.conf switches to 127.0.0.11, which answers."""
    md, upstream, gateway = net
    md.ok("run", "-d", "--name", "late", "--dns", gateway, "busybox", "sleep", "1000")
    try:
        assert md.ok("exec", "late", "cat", "/etc/resolv.conf") == f"nameserver {gateway}\n"
        md.ok("network", "connect", "dnsnet", "late")
        assert md.ok("exec", "late", "cat", "/etc/resolv.conf") == "nameserver 127.0.0.11\noptions ndots:0\n"
        assert f"Address: {_ip(md, 'one')}" in md.ok("exec", "late", "nslookup", "uno", "127.0.0.11")
        asked = len(upstream.asked)
        assert f"Address: {OUTSIDE_IP}" in md.ok("exec", "late", "nslookup", OUTSIDE)  # to its --dns
        assert OUTSIDE in upstream.asked[asked:]
        assert f"Address: {_ip(md, 'late')}" in md.ok("exec", "one", "nslookup", "late")
    finally:
        md("rm", "-f", "late")
