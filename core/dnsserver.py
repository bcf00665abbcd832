"""The embedded DNS server at 127.0.0.11 of a container on a user-defined network.

docker's dockerd holds a socket inside each such container's network namespace
and answers there for the names of its peers. Here the container's own waiter
holds it (core.waiter, or the monitor of a foreground container): no daemon,
and the server lives exactly as long as the container. The socket is made in
the monitor by entering the container's netns for a moment (open_sockets); a
socket keeps the namespace it was made in, so the waiter serves it from the host.

The truth is the container's /etc/hosts, which statemachine.name_resolution
rewrites from the log whenever a peer comes or goes: the file is read again
whenever it changed, so a removed peer stops resolving by DNS the moment it
leaves /etc/hosts. Names it does not know are forwarded, from inside the
container's netns as docker does, to the servers the container would have used
without it (the host's resolv.conf or --dns); no answer from any: SERVFAIL.

Stdlib only, and small: the waiter of every container on a user network loads it.
"""

from __future__ import annotations

import os
import socket
import struct
import time

ADDRESS = "127.0.0.11"
PORT = 53
TTL = 600  # docker's
FORWARD_TIMEOUT = 2.0  # per upstream server
MAX_PENDING = 256  # forwarded queries waiting for an answer; beyond: SERVFAIL at once
MAX_TCP = 16  # TCP clients at once; beyond, a new one is closed at once
TCP_IDLE = 10.0  # a TCP client silent this long is closed
A, PTR, AAAA = 1, 12, 28
IN = 1
NOERROR, SERVFAIL, NOTIMP = 0, 2, 4


class Query:
    __slots__ = ("ident", "flags", "name", "qtype", "qclass", "question")

    def __init__(self, ident: int, flags: int, name: str, qtype: int, qclass: int, question: bytes) -> None:
        self.ident, self.flags, self.name, self.qtype, self.qclass = ident, flags, name, qtype, qclass
        self.question = question  # the question section as it came, echoed in the answer


def parse_query(data: bytes) -> Query | None:
    """One question of a query; None for anything else (answers, several
    questions, a name that runs past the end): such a packet gets no reply."""
    if len(data) < 12:
        return None
    ident, flags, qdcount = struct.unpack_from("!3H", data)
    if flags & 0x8000 or qdcount != 1:
        return None
    labels, pos = [], 12
    while True:
        if pos >= len(data):
            return None
        size = data[pos]
        if size == 0:
            pos += 1
            break
        if size & 0xC0 or pos + 1 + size > len(data):  # no compression in a question
            return None
        labels.append(data[pos + 1:pos + 1 + size])
        pos += 1 + size
        if pos - 12 > 255:
            return None
    if pos + 4 > len(data):
        return None
    qtype, qclass = struct.unpack_from("!HH", data, pos)
    try:
        name = b".".join(labels).decode("ascii").lower()
    except UnicodeDecodeError:
        return None
    return Query(ident, flags, name, qtype, qclass, data[12:pos + 4])


def response(query: Query, rcode: int, rtype: int = 0, rdatas: list[bytes] | tuple[()] = ()) -> bytes:
    """The answer to query: its id, opcode and RD echoed, RA set, each rdata
    under a pointer to the question's name."""
    flags = 0x8000 | (query.flags & 0x7900) | 0x0080 | rcode
    header = struct.pack("!6H", query.ident, flags, 1, len(rdatas), 0, 0)
    answers = b"".join(struct.pack("!HHHIH", 0xC00C, rtype, IN, TTL, len(r)) + r for r in rdatas)
    return header + query.question + answers


def encode_name(name: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode("ascii") for label in name.split(".") if label) + b"\0"


def reverse_name(address: str) -> str | None:
    """The in-addr.arpa / ip6.arpa name of an address (for PTR)."""
    try:
        if ":" in address:
            nibbles = socket.inet_pton(socket.AF_INET6, address).hex()
            return ".".join(reversed(nibbles)) + ".ip6.arpa"
        return ".".join(reversed(socket.inet_ntoa(socket.inet_aton(address)).split("."))) + ".in-addr.arpa"
    except (OSError, ValueError):
        return None


class HostsTable:
    """Names and addresses from a hosts file, read again whenever it changed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.stamp: tuple[int, int, int] | None = None
        self.names: dict[str, list[str]] = {}
        self.reverse: dict[str, str] = {}

    def refresh(self) -> None:
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            if stamp == self.stamp:
                return
            with open(self.path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            return  # keep what we knew: the directory goes only with the container
        names: dict[str, list[str]] = {}
        reverse: dict[str, str] = {}
        for line in text.splitlines():
            fields = line.split("#", 1)[0].split()
            if len(fields) < 2:
                continue
            address = fields[0]
            for name in fields[1:]:
                names.setdefault(name.lower().rstrip("."), []).append(address)
            pointer = reverse_name(address)
            if pointer is not None:
                reverse.setdefault(pointer, fields[1])
        self.names, self.reverse, self.stamp = names, reverse, stamp

    def answer(self, query: Query) -> bytes | None:
        """The reply for a name this file knows; None: not ours, forward it."""
        if query.qclass != IN:
            return None
        self.refresh()
        if query.qtype == PTR and query.name in self.reverse:
            return response(query, NOERROR, PTR, [encode_name(self.reverse[query.name])])
        addresses = self.names.get(query.name)
        if addresses is None:
            return None
        rdatas: list[bytes] = []
        for address in dict.fromkeys(addresses):
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            if (query.qtype, family) in ((A, socket.AF_INET), (AAAA, socket.AF_INET6)):
                try:
                    rdatas.append(socket.inet_pton(family, address))
                except OSError:
                    continue
        return response(query, NOERROR, query.qtype, rdatas)  # a known name: no record of that type is no error


class Server:
    """Answers on `listen` (UDP 127.0.0.11:53 in the container's netns) and on
    `tcp` (a listening TCP socket there, for clients that retry over TCP), and
    forwards over UDP through `forward` (a socket of that netns too). Driven by
    the caller's select(): fds(), handle(fd) when one is readable, timeout() and tick()."""

    def __init__(self, listen: int, forward: int, hosts_path: str, upstreams: list[str], tcp: int = -1) -> None:
        self.listen = socket.socket(fileno=listen)
        self.forward = socket.socket(fileno=forward) if forward >= 0 else None
        self.tcp = socket.socket(fileno=tcp) if tcp >= 0 else None
        for sock in (self.listen, self.forward, self.tcp):
            if sock is not None:
                sock.setblocking(False)
        self.hosts = HostsTable(hosts_path)
        self.upstreams = list(upstreams)
        # our id -> [client (UDP address or TCP connection), client's query, index of the upstream asked, deadline]
        self.pending: dict[int, list] = {}
        self.clients: dict[int, list] = {}  # TCP: fd -> [connection, bytes received, idle deadline]
        self._clock = time.monotonic

    def fds(self) -> list[int]:
        own = [s.fileno() for s in (self.listen, self.forward, self.tcp) if s is not None]
        return own + list(self.clients)

    def handle(self, fd: int) -> None:
        if fd == self.listen.fileno():
            self._query()
        elif self.forward is not None and fd == self.forward.fileno():
            self._reply()
        elif self.tcp is not None and fd == self.tcp.fileno():
            self._accept()
        elif fd in self.clients:
            self._stream(fd)

    def timeout(self) -> float | None:
        deadlines = [p[3] for p in self.pending.values()] + [c[2] for c in self.clients.values()]
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - self._clock())

    def tick(self) -> None:
        now = self._clock()
        for ident, entry in list(self.pending.items()):
            if entry[3] <= now:
                del self.pending[ident]
                self._send_upstream(entry[0], entry[1], entry[2] + 1)
        for fd, client in list(self.clients.items()):
            if client[2] <= now:
                self._drop(fd)

    def close(self) -> None:
        for fd in list(self.clients):
            self._drop(fd)
        for sock in (self.listen, self.forward, self.tcp):
            if sock is not None:
                sock.close()

    def _accept(self) -> None:
        assert self.tcp is not None
        try:
            conn, _ = self.tcp.accept()
        except OSError:
            return
        if len(self.clients) >= MAX_TCP:
            conn.close()
            return
        conn.setblocking(False)
        self.clients[conn.fileno()] = [conn, b"", self._clock() + TCP_IDLE]

    def _stream(self, fd: int) -> None:
        """Queries over TCP: each behind its two-byte length (RFC 1035 4.2.2)."""
        client = self.clients[fd]
        try:
            data = client[0].recv(65535)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(fd)
            return
        client[1] += data
        client[2] = self._clock() + TCP_IDLE
        while len(client[1]) >= 2 and len(client[1]) >= 2 + struct.unpack_from("!H", client[1])[0]:
            size = struct.unpack_from("!H", client[1])[0]
            message, client[1] = client[1][2:2 + size], client[1][2 + size:]
            self._answer(message, client[0])
            if fd not in self.clients:
                return

    def _drop(self, fd: int) -> None:
        client = self.clients.pop(fd, None)
        if client is None:
            return
        for ident, entry in list(self.pending.items()):
            if entry[0] is client[0]:
                del self.pending[ident]
        client[0].close()

    def _query(self) -> None:
        try:
            data, client = self.listen.recvfrom(4096)
        except OSError:
            return
        self._answer(data, client)

    def _answer(self, data: bytes, client: tuple[str, int] | socket.socket) -> None:
        query = parse_query(data)
        if query is None:
            return
        if query.flags & 0x7800:  # not a standard query
            self._send(client, response(query, NOTIMP))
            return
        reply = self.hosts.answer(query)
        if reply is not None:
            self._send(client, reply)
        else:
            self._send_upstream(client, data, 0)

    def _send_upstream(self, client: tuple[str, int] | socket.socket, data: bytes, index: int) -> None:
        """Ask upstream number index and the next ones on failure; none left: SERVFAIL."""
        if self.forward is not None and len(self.pending) < MAX_PENDING:
            while index < len(self.upstreams):
                ident = struct.unpack("!H", os.urandom(2))[0]
                if ident in self.pending:
                    continue
                try:
                    self.forward.sendto(struct.pack("!H", ident) + data[2:], (self.upstreams[index], PORT))
                except OSError:  # unreachable from the container: the next one
                    index += 1
                    continue
                self.pending[ident] = [client, data, index, self._clock() + FORWARD_TIMEOUT]
                return
        query = parse_query(data)
        if query is not None:
            self._send(client, response(query, SERVFAIL))

    def _reply(self) -> None:
        assert self.forward is not None
        try:
            data, source = self.forward.recvfrom(65535)
        except OSError:
            return
        if len(data) < 12:
            return
        ident = struct.unpack_from("!H", data)[0]
        entry = self.pending.get(ident)
        if entry is None or source[0] != self.upstreams[entry[2]]:
            return  # late, or not from whom we asked
        del self.pending[ident]
        self._send(entry[0], entry[1][:2] + data[2:])

    def _send(self, client: tuple[str, int] | socket.socket, data: bytes) -> None:
        if isinstance(client, socket.socket):
            if client.fileno() < 0:
                return  # that TCP client left meanwhile
            try:
                client.sendall(struct.pack("!H", len(data)) + data)
            except OSError:  # gone, or not reading: it loses its connection
                self._drop(client.fileno())
            return
        try:
            self.listen.sendto(data, client)
        except OSError:
            pass  # the client went away: nothing to tell it


def open_sockets(pid: int) -> tuple[int, int, int]:
    """(the UDP socket at 127.0.0.11:53, the forwarding socket, the TCP listener
    at 127.0.0.11:53), all made inside the network namespace of process pid, as
    close-on-exec fds (core.syscalls.thread_in_netns)."""
    from mydocker.core import syscalls as sc

    with sc.thread_in_netns(f"/proc/{pid}/ns/net"):
        listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        forward = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listen.bind((ADDRESS, PORT))
            forward.bind(("0.0.0.0", 0))
            tcp.bind((ADDRESS, PORT))
            tcp.listen(MAX_TCP)
        except OSError:
            for sock in (listen, forward, tcp):
                sock.close()
            raise
    return listen.detach(), forward.detach(), tcp.detach()


def adopted(current: Server | None, payload: bytes, fds: list[int]) -> Server | None:
    """The waiter's server once `network connect` handed it sockets (give): a
    new one, unless it serves one already (the fds are closed then)."""
    import json

    try:
        data = json.loads(payload) if current is None and len(fds) == 3 else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        for fd in fds:
            os.close(fd)
        return current
    return Server(fds[0], fds[1], str(data["hosts"]), list(data["upstreams"]), fds[2])


def give(directory: str, sockets: tuple[int, int, int], hosts: str, upstreams: list[str]) -> bool:
    """Hand a running container's waiter the sockets of an embedded DNS server
    (open_sockets), over its attach socket (core.attachsock, a b"n" frame);
    False when no waiter serves there (a foreground container's monitor has no
    attach socket)."""
    import json

    from mydocker.core import attachsock

    client = attachsock.connect(directory)
    if client is None:
        return False
    try:
        payload = json.dumps({"hosts": hosts, "upstreams": upstreams}).encode()
        socket.send_fds(client, [attachsock.frame(b"n", payload)], list(sockets))
        return True
    except OSError:
        return False
    finally:
        client.close()
