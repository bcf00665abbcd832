"""core.dnsserver: the embedded DNS server's packets, answers and forwarding.

The sockets are the test's own, on the host's loopback at ports the kernel
picked for it; the "upstream" is a socket of the test too."""

from __future__ import annotations

import os
import random
import socket
import struct
from pathlib import Path

import pytest
from mydocker.core import dnsserver, etcfiles
from mydocker.core.dnsserver import AAAA, PTR, A, HostsTable, Server, parse_query


def query(name: str, qtype: int = A, ident: int = 0x1234, flags: int = 0x0100) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p)
    return struct.pack("!6H", ident, flags, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)


def decode(reply: bytes) -> tuple[int, int, list[bytes]]:
    """(id, rcode, rdatas) of a reply whose answers point at the question."""
    ident, flags, _qd, ancount = struct.unpack_from("!4H", reply)
    pos = 12
    while reply[pos]:
        pos += 1 + reply[pos]
    pos += 5
    rdatas = []
    for _ in range(ancount):
        _ptr, _type, _cls, _ttl, size = struct.unpack_from("!HHHIH", reply, pos)
        rdatas.append(reply[pos + 12:pos + 12 + size])
        pos += 12 + size
    return ident, flags & 0xF, rdatas


@pytest.fixture
def hosts(tmp_path: Path) -> Path:
    path = tmp_path / "hosts"
    path.write_text(etcfiles.hosts_text(["me"], "10.1.0.2", peers=[("10.1.0.3", ["web", "www", "abcdef123456"])]))
    return path


def test_a_peer_and_its_alias_resolve_in_any_case(hosts: Path) -> None:
    table = HostsTable(str(hosts))
    for name in ("web", "WWW", "abcdef123456"):
        q = parse_query(query(name))
        assert q is not None
        reply = table.answer(q)
        assert reply is not None
        ident, rcode, rdatas = decode(reply)
        assert (ident, rcode, rdatas) == (0x1234, 0, [socket.inet_aton("10.1.0.3")])
        assert reply[2] & 0x01 and reply[3] & 0x80  # RD echoed, RA set


def test_a_known_name_without_ipv6_is_noerror_with_no_answer(hosts: Path) -> None:
    reply = HostsTable(str(hosts)).answer(parse_query(query("web", AAAA)))  # type: ignore[arg-type]
    assert reply is not None and decode(reply)[1:] == (0, [])


def test_ptr_of_a_peer(hosts: Path) -> None:
    reply = HostsTable(str(hosts)).answer(parse_query(query("3.0.1.10.in-addr.arpa", PTR)))  # type: ignore[arg-type]
    assert reply is not None and decode(reply)[2] == [b"\x03web\x00"]


def test_unknown_names_are_not_answered_here(hosts: Path) -> None:
    assert HostsTable(str(hosts)).answer(parse_query(query("elsewhere.example"))) is None  # type: ignore[arg-type]


def test_a_peer_leaving_the_file_stops_resolving(hosts: Path) -> None:
    table = HostsTable(str(hosts))
    assert table.answer(parse_query(query("web"))) is not None  # type: ignore[arg-type]
    etcfiles.rewrite_in_place(hosts, etcfiles.hosts_text(["me"], "10.1.0.2"))
    os.utime(hosts, ns=(1, 1))  # a rewrite in the same clock tick must be seen too: size differs
    assert table.answer(parse_query(query("web"))) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("packet", [
    b"",
    b"\x12\x34",
    query("web")[:-3],  # question cut short
    query("web", flags=0x8100),  # a response, not a query
    struct.pack("!6H", 1, 0x100, 2, 0, 0, 0) + query("web")[12:],  # two questions
    struct.pack("!6H", 1, 0x100, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01",  # a pointer in the question
    struct.pack("!6H", 1, 0x100, 1, 0, 0, 0) + b"\x3f" + b"a" * 10,  # a label past the end
    struct.pack("!6H", 1, 0x100, 1, 0, 0, 0) + b"\x02\xff\xfe\x00\x00\x01\x00\x01",  # not ASCII
])
def test_malformed_packets_are_ignored(packet: bytes) -> None:
    assert parse_query(packet) is None


@pytest.fixture
def wired(hosts: Path, monkeypatch: pytest.MonkeyPatch):
    """A Server on loopback sockets of its own, a client, and a fake upstream."""
    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listen.bind(("127.0.0.1", 0))
    forward = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    forward.bind(("127.0.0.1", 0))
    upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    upstream.bind(("127.0.0.1", 0))
    upstream.settimeout(2)
    monkeypatch.setattr(dnsserver, "PORT", upstream.getsockname()[1])
    server = Server(listen.detach(), forward.detach(), str(hosts), ["127.0.0.1"])
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(2)
    client.bind(("127.0.0.1", 0))
    address = server.listen.getsockname()
    yield server, client, upstream, address
    for sock in (client, upstream):
        sock.close()
    server.close()


def test_garbage_gets_no_reply_and_the_server_answers_on(wired) -> None:
    server, client, _upstream, address = wired
    rng = random.Random(7)
    for size in [0, 1, 11, 12, 13, 40, 300]:
        client.sendto(bytes(rng.randrange(256) for _ in range(size)), address)
        server.handle(server.listen.fileno())
    client.sendto(query("web", ident=77), address)
    server.handle(server.listen.fileno())
    reply = client.recv(512)
    assert decode(reply)[:2] == (77, 0)  # the one real query's is the first reply the client gets


def test_unknown_names_are_forwarded_and_the_answer_relayed(wired) -> None:
    server, client, upstream, address = wired
    client.sendto(query("elsewhere.example", ident=0x4242), address)
    server.handle(server.listen.fileno())
    asked, source = upstream.recvfrom(512)
    assert asked[2:] == query("elsewhere.example")[2:]
    fake = parse_query(asked)
    assert fake is not None
    upstream.sendto(dnsserver.response(fake, 0, A, [socket.inet_aton("10.9.9.9")]), source)
    server.handle(server.forward.fileno())  # type: ignore[union-attr]
    ident, rcode, rdatas = decode(client.recv(512))
    assert (ident, rcode, rdatas) == (0x4242, 0, [socket.inet_aton("10.9.9.9")])
    assert not server.pending


def test_no_answer_from_upstream_is_servfail(wired) -> None:
    server, client, upstream, address = wired
    now = [100.0]
    server._clock = lambda: now[0]
    client.sendto(query("elsewhere.example", ident=9), address)
    server.handle(server.listen.fileno())
    upstream.recvfrom(512)  # asked, never answers
    assert server.timeout() == dnsserver.FORWARD_TIMEOUT
    now[0] += dnsserver.FORWARD_TIMEOUT
    server.tick()
    assert decode(client.recv(512))[:2] == (9, 2)
    assert server.timeout() is None


def test_resolv_conf_on_a_user_network_points_at_the_embedded_server() -> None:
    text, upstreams = etcfiles.embedded_resolv("search corp\nnameserver 10.0.0.2\nnameserver fd00::1\n"
                                               "options edns0\n")
    assert text == "search corp\nnameserver 127.0.0.11\noptions edns0 ndots:0\n"
    assert upstreams == ["10.0.0.2"]


def test_the_waiter_serving_dns_loads_nothing_heavy() -> None:
    """Every container on a user network's waiter loads the server: stdlib it
    already holds, no ctypes (open_sockets' syscalls run in the monitor only)."""
    import subprocess
    import sys

    import mydocker.core.waiter

    parent = Path(os.path.abspath(mydocker.core.waiter.__file__)).parents[2]
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import mydocker.core.waiter, mydocker.core.attachsock;"
            " before = set(sys.modules); import mydocker.core.dnsserver;"
            " print(sorted(set(sys.modules) - before - {'mydocker.core.dnsserver'}))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(parent)], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_tcp_queries_are_answered_and_forwarded(hosts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two length-prefixed queries in one segment: one answered here, one relayed
    from the upstream; a client that leaves loses its pending query, no crash."""
    udp, forward, tcp, upstream = (socket.socket(socket.AF_INET, t) for t in
                                   (socket.SOCK_DGRAM, socket.SOCK_DGRAM, socket.SOCK_STREAM, socket.SOCK_DGRAM))
    for sock in (udp, forward, tcp, upstream):
        sock.bind(("127.0.0.1", 0))
    tcp.listen(4)
    upstream.settimeout(2)
    monkeypatch.setattr(dnsserver, "PORT", upstream.getsockname()[1])
    server = Server(udp.detach(), forward.detach(), str(hosts), ["127.0.0.1"], tcp.detach())
    client = socket.create_connection(server.tcp.getsockname(), timeout=2)  # type: ignore[union-attr]
    try:
        server.handle(server.tcp.fileno())  # type: ignore[union-attr]
        both = b"".join(struct.pack("!H", len(q)) + q for q in (query("web", ident=1), query("far.example", ident=2)))
        client.sendall(both[:5])  # a query split across segments waits for its end
        server.handle(client_fd := [fd for fd in server.clients][0])
        client.sendall(both[5:])
        server.handle(client_fd)
        size = struct.unpack("!H", client.recv(2))[0]
        assert decode(client.recv(size))[:3] == (1, 0, [socket.inet_aton("10.1.0.3")])
        asked, source = upstream.recvfrom(512)
        fake = parse_query(asked)
        assert fake is not None and fake.name == "far.example"
        upstream.sendto(dnsserver.response(fake, 3), source)
        server.handle(server.forward.fileno())  # type: ignore[union-attr]
        size = struct.unpack("!H", client.recv(2))[0]
        assert decode(client.recv(size))[:2] == (2, 3)
        again = query("far.example", ident=3)
        client.sendall(struct.pack("!H", len(again)) + again)  # a query, then leave
        server.handle(client_fd)
        assert len(server.pending) == 1
        client.close()
        server.handle(client_fd)  # end of stream: the client and what it waited for go
        assert not server.clients and not server.pending
    finally:
        client.close()
        upstream.close()
        server.close()
