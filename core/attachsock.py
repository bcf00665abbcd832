"""The attach socket: how `attach` reaches a detached container's stdio.

The waiter (a detached container's monitor) listens on a unix socket in the
container's directory. Every client gets what the container writes from then
on; a client's input goes to the container's stdin when it was started with -i
(the pty's master with -t, else the pipe the monitor kept open for it).

Frames both ways: one byte of kind, four bytes of big-endian length, the data.
Server to client: b"1" stdout, b"2" stderr. Client to server: b"i" input,
b"w" a window size (struct winsize, for the container's pty), b"n" a JSON
payload with descriptors (SCM_RIGHTS) for the server's on_fds (`network
connect` hands the waiter its embedded DNS server's sockets that way).

Stdlib only: the waiter imports it without site-packages. The path is reached
through an O_PATH descriptor of its directory, so a deep state root cannot
exceed the 108 bytes a socket address may have.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import termios
from collections.abc import Callable

NAME = "attach.sock"
SEND_STALL = 2.0  # seconds
_HEADER = struct.Struct(">cI")


def _short(directory: str) -> tuple[int, str]:
    fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return fd, f"/proc/self/fd/{fd}/{NAME}"


def frame(kind: bytes, data: bytes) -> bytes:
    return _HEADER.pack(kind, len(data)) + data


class Frames:
    """Reassembles frames from a stream socket's chunks."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        self.buffer += data
        out = []
        while len(self.buffer) >= _HEADER.size:
            kind, length = _HEADER.unpack_from(self.buffer)
            if len(self.buffer) < _HEADER.size + length:
                break
            out.append((kind, self.buffer[_HEADER.size:_HEADER.size + length]))
            self.buffer = self.buffer[_HEADER.size + length:]
        return out


def listen(directory: str) -> socket.socket:
    """The listening socket. The monitor makes it before it reports a detached start,
    so an `attach` right after `run -d` finds it (and waits in its backlog until the
    waiter, which inherits it, accepts)."""
    dfd, short = _short(directory)
    try:
        try:
            os.unlink(short)
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(short)
        os.chmod(short, 0o600)
        listener.listen(8)
        return listener
    finally:
        os.close(dfd)


class Server:
    """The waiter's side. fileno() goes into its select(); handle() when readable."""

    def __init__(self, directory: str, stdin: int, tty_master: int, listener_fd: int = -1,
                 on_fds: Callable[[bytes, list[int]], None] | None = None) -> None:
        self.stdin = stdin  # -1: the container has no open stdin (no -i)
        self.on_fds = on_fds  # takes the descriptors of a b"n" frame (and closes them)
        self.tty_master = tty_master
        self.clients: dict[socket.socket, Frames] = {}
        self.path = os.path.join(directory, NAME)
        self.listener = socket.socket(fileno=listener_fd) if listener_fd >= 0 else listen(directory)

    def fds(self) -> list[int]:
        """What to watch, as numbers, beside the container's own descriptors."""
        return [self.listener.fileno(), *(c.fileno() for c in self.clients)]

    def handle(self, fd: int) -> None:
        if fd == self.listener.fileno():
            client, _ = self.listener.accept()
            # A client that stops reading must not stop the container's output (and
            # its log) for long: a send stalled this long drops that client.
            client.settimeout(SEND_STALL)
            self.clients[client] = Frames()
            return
        ready = next((c for c in self.clients if c.fileno() == fd), None)
        if ready is None:  # dropped earlier in this round (a failed broadcast): its fd is gone
            return
        try:
            # a b"n" frame comes whole with its descriptors, in one sendmsg (send_fds)
            data, fds, _flags, _address = socket.recv_fds(ready, 65536, 4)
        except OSError:
            data, fds = b"", []
        if not data:
            _close(fds)
            self._drop(ready)
            return
        for kind, payload in self.clients[ready].feed(data):
            if kind == b"n" and self.on_fds is not None and fds:
                given, fds = fds, []
                self.on_fds(payload, given)
            if kind == b"i" and self.stdin >= 0:
                try:
                    os.write(self.stdin, payload)
                except OSError:
                    self.stdin = -1  # the container closed its stdin
            elif kind == b"w" and self.tty_master >= 0 and len(payload) == 8:
                try:
                    fcntl.ioctl(self.tty_master, termios.TIOCSWINSZ, payload)
                except OSError:
                    pass
        _close(fds)  # none asked for

    def broadcast(self, stream: str, data: bytes) -> None:
        message = frame(b"2" if stream == "stderr" else b"1", data)
        for client in list(self.clients):
            try:
                client.sendall(message)
            except OSError:
                self._drop(client)

    def _drop(self, client: socket.socket) -> None:
        self.clients.pop(client, None)
        client.close()

    def close(self) -> None:
        for client in list(self.clients):
            self._drop(client)
        self.listener.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _close(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def connect(directory: str) -> socket.socket | None:
    """The client's side; None when no waiter serves this container."""
    if not os.path.exists(os.path.join(directory, NAME)):
        return None
    dfd, short = _short(directory)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(short)
        return sock
    except OSError:
        sock.close()
        return None
    finally:
        os.close(dfd)
