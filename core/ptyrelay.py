"""The host side of a container's pty: receiving its master, raw mode on the
user's terminal, window size, and the copying in between.

The pty itself is made inside the container (core.finalize.open_container_pty)
and its master comes out over a unix socket (SCM_RIGHTS); the monitor (run,
start) and exec's caller relay between it and the user's terminal.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import termios
import tty
from collections.abc import Iterator
from contextlib import contextmanager


def send_master(sock: socket.socket, master: int) -> None:
    """The process side: hand the pty's master over and wait until the other
    side has sized it, so the command starts at the user's terminal size and
    not at 0x0 until a SIGWINCH. Closes both."""
    socket.send_fds(sock, [b"m"], [master])
    os.close(master)
    sock.recv(1)  # EOF if the other side went away: nothing to wait for then
    sock.close()


def receive_master(sock: socket.socket, size: bool) -> int:
    """The relay side: the pty's master, sized like our terminal when size is
    set; -1 if the process side closed without sending one (it failed before
    it made the pty: its error pipe says why). Closes sock."""
    master = -1
    try:
        _, fds, _, _ = socket.recv_fds(sock, 1, 1)
        master, *extra = fds or [-1]
        for fd in extra:
            os.close(fd)
        if master >= 0:
            if size:
                copy_winsize(master)
            sock.send(b"k")
    except OSError:
        pass  # the process side died: its error pipe or exit status tells
    sock.close()
    return master


@contextmanager
def raw_mode(enabled: bool) -> Iterator[None]:
    """Raw mode on stdin (keys go to the container's pty untouched), restored after.

    TCSANOW, not tty's default TCSAFLUSH: what the user typed before the
    container's shell was ready is still in the input queue and must reach it."""
    if not enabled or not os.isatty(0):
        yield
        return
    saved = termios.tcgetattr(0)
    try:
        tty.setraw(0, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


def copy_winsize(master: int) -> None:
    """Our terminal's size onto the container's pty (at start and on SIGWINCH)."""
    if master < 0 or not os.isatty(0):
        return
    try:
        size = fcntl.ioctl(0, termios.TIOCGWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
        fcntl.ioctl(master, termios.TIOCSWINSZ, size)
    except OSError:
        pass


def write_all(fd: int, data: bytes) -> bool:
    """False once the reader went away (closed terminal, killed `run`)."""
    try:
        while data:
            data = data[os.write(fd, data):]
        return True
    except OSError:
        return False


def read_all(fd: int) -> bytes:
    """Everything until EOF; closes fd."""
    raw = b""
    while chunk := os.read(fd, 65536):
        raw += chunk
    os.close(fd)
    return raw


# The detach sequence of a foreground `run -it` / `start -ai`: the CLI sets it
# before it starts the container, and the monitor, a fork of the CLI, reads it.
detach_sequence = b"\x10\x11"  # ctrl-p ctrl-q
# run -a: the streams a foreground container shows on the terminal (None: all);
# the log gets every stream whatever this says
attach_streams: frozenset[str] | None = None


class DetachKeys:
    """Watches the typed bytes for the detach sequence. A partial match is held
    back until the next key decides: the sequence itself never reaches the
    container, anything else does, in order."""

    def __init__(self, sequence: bytes) -> None:
        self.sequence = sequence
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to send on, whether the sequence was completed)."""
        out = bytearray()
        for byte in data:
            key = bytes([byte])
            if not (self.sequence and self.sequence.startswith(self.held + key)):
                out += self.held  # not the sequence after all: what was held goes on
                self.held = b""
                if not (self.sequence and self.sequence.startswith(key)):
                    out += key
                    continue
            self.held += key
            if self.held == self.sequence:
                self.held = b""
                return bytes(out), True
        return bytes(out), False
