"""Streams of a container or an exec to a client: the taken-over ("hijacked")
connection, docker's multiplexed frames, and the relay between a child process's
stdio (pipes, or a pty for a tty) and that connection."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import select
import struct
import termios
import tty
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

RAW_STREAM = "application/vnd.docker.raw-stream"
STDOUT, STDERR = 1, 2
BOTH = frozenset((STDOUT, STDERR))
HIGH_WATER = 1 << 20  # bytes queued for a slow client before we wait for it
# docker-py reads the 101's headers through a buffered reader, then reads the raw socket:
# bytes that come in the same read as the headers are lost in that buffer. dockerd's
# attach does its setup between the two; the first bytes wait at least this long.
FIRST_WRITE_DELAY = 0.05
LOST_POLL = 0.2  # seconds between looks at whether an attached client hung up


def stream_of(record: dict[str, str]) -> int:
    """A log record's stream number (a tty's records are all stdout)."""
    return STDERR if record.get("stream") == "stderr" else STDOUT


def frame(stream: int, data: bytes) -> bytes:
    """docker's 8-byte header: stream, three zero bytes, big-endian length."""
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


class _Reader:
    """Takes aiohttp's buffered bytes that followed the request (set_parser feeds them)."""

    def __init__(self, queue: asyncio.Queue[bytes | None]) -> None:
        self.queue = queue

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if data:
            self.queue.put_nowait(data)
        return False, b""

    def feed_eof(self) -> None:
        self.queue.put_nowait(None)


class _TakenOver(asyncio.Protocol):
    """The transport's protocol once the connection is raw: aiohttp's handler would
    close the connection at the client's half-close (its stdin ended), before the
    container's last output; this one keeps it open for writing."""

    def __init__(self, queue: asyncio.Queue[bytes | None], original: asyncio.Protocol, lost: asyncio.Event) -> None:
        self.queue = queue
        self.original = original
        self.ended = False
        self.lost = lost

    def data_received(self, data: bytes) -> None:
        if not self.ended:
            self.queue.put_nowait(data)

    def eof_received(self) -> bool:
        self._end()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()
        self.lost.set()
        self.original.connection_lost(exc)  # aiohttp forgets the connection as usual

    def pause_writing(self) -> None:
        self.original.pause_writing()

    def resume_writing(self) -> None:
        self.original.resume_writing()

    def _end(self) -> None:
        if not self.ended:
            self.ended = True
            self.queue.put_nowait(None)


class Connection:
    """A client connection streaming raw bytes both ways: after `101 UPGRADED` when
    the client asked for the upgrade (docker CLI, docker-py), else a plain streamed
    200 body (output only)."""

    def __init__(self, request: web.Request, response: web.StreamResponse, upgraded: bool) -> None:
        self.request = request
        self.response = response
        self.upgraded = upgraded
        self.incoming: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = False
        self.lost = asyncio.Event()  # an upgraded connection's client closed it (docker's CLI does at its detach keys)
        self.first_write_at = asyncio.get_running_loop().time() + FIRST_WRITE_DELAY

    @classmethod
    async def open(cls, request: web.Request) -> Connection:
        upgrade = "upgrade" in request.headers.get("Connection", "").lower() and \
            request.headers.get("Upgrade", "").lower() == "tcp"
        if upgrade:
            response = web.StreamResponse(status=101, reason="UPGRADED",
                                          headers={"Content-Type": RAW_STREAM, "Connection": "Upgrade",
                                                   "Upgrade": "tcp"})
        else:
            response = web.StreamResponse(status=200, headers={"Content-Type": RAW_STREAM})
        response.force_close()
        await response.prepare(request)
        conn = cls(request, response, upgrade)
        if upgrade and request.transport is not None:
            protocol = request.protocol
            protocol.set_parser(_Reader(conn.incoming))  # type: ignore[arg-type]
            request.transport.set_protocol(_TakenOver(conn.incoming, protocol, conn.lost))
        else:
            conn.incoming.put_nowait(None)
        return conn

    @property
    def gone(self) -> bool:
        transport = self.request.transport
        return self.closed or transport is None or transport.is_closing()

    async def write(self, data: bytes) -> bool:
        """False once the client went away."""
        if self.gone:
            return False
        if not self.upgraded:
            try:
                await self.response.write(data)
                return True
            except (ConnectionError, RuntimeError):
                return False
        if self.first_write_at:
            await asyncio.sleep(max(0.0, self.first_write_at - asyncio.get_running_loop().time()))
            self.first_write_at = 0.0
        transport = self.request.transport
        if transport is None or transport.is_closing():
            return False
        transport.write(data)
        while transport.get_write_buffer_size() > HIGH_WATER and not transport.is_closing():
            await asyncio.sleep(0.01)
        return not transport.is_closing()

    def hung_up(self) -> bool:
        """The client closed its end for good, not only its writing half: a unix
        socket then polls POLLHUP (a half-close gives only EOF). docker's CLI closes so
        at its detach keys, with nothing more to read: no write of ours would notice."""
        if self.lost.is_set() or self.gone:
            return True
        transport = self.request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None:
            return False
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLHUP)
        return any(events & (select.POLLHUP | select.POLLERR) for _, events in poller.poll(0))

    async def wait_closed(self) -> None:
        """Until the client closes its side (its stdin ended or it disconnected)."""
        while await self.incoming.get() is not None:
            pass

    def close(self) -> None:
        self.closed = True
        transport = self.request.transport
        if transport is not None and not transport.is_closing():
            if self.upgraded:
                transport.close()


def set_winsize(fd: int, height: int, width: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


class Child:
    """A child process whose stdio is a connection's: a pty when tty (the terminal's
    bytes as they are, resized with set_winsize on `master`), else pipes."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int) -> None:
        self.proc = proc
        self.master = master

    @classmethod
    async def spawn(cls, argv: list[str], env: dict[str, str], tty_mode: bool, stdin: bool,
                    pass_fds: tuple[int, ...] = ()) -> Child:
        if tty_mode:
            master, slave = os.openpty()
            tty.setraw(slave)  # the container's own pty does the line discipline
            set_winsize(slave, 24, 80)
            try:
                # setsid --ctty: the pty is the child's controlling terminal, so a resize
                # (TIOCSWINSZ on the master) reaches it, and its monitor, as SIGWINCH.
                proc = await asyncio.create_subprocess_exec(
                    "setsid", "--ctty", *argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                    pass_fds=pass_fds)
            except BaseException:
                os.close(master)
                raise
            finally:
                os.close(slave)
            os.set_blocking(master, False)
            return cls(proc, master)
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, pass_fds=pass_fds)
        return cls(proc, -1)

    def resize(self, height: int, width: int) -> None:
        if self.master >= 0:
            set_winsize(self.master, height, width)

    async def relay(self, conn: Connection, multiplexed: bool, stdin: bool,
                    streams: frozenset[int] = BOTH, on_lost: Callable[[], Any] | None = None) -> int:
        """Copy until the child's output ends; returns its exit code. A client that
        goes away stops the copying only: the child (and the container) go on;
        on_lost() is then called once (to let the child detach or end).
        streams: what the client asked for (a tty's one stream is STDOUT); the rest
        is read and dropped, so the child never blocks on it."""
        watcher = asyncio.create_task(self._when_lost(conn, on_lost)) if on_lost is not None else None
        try:
            if self.master >= 0:
                await self._relay_pty(conn, stdin, STDOUT in streams)
            else:
                await self._relay_pipes(conn, multiplexed, stdin, streams)
            return await self.proc.wait()
        finally:
            if watcher is not None:
                watcher.cancel()

    @staticmethod
    async def _when_lost(conn: Connection, on_lost: Callable[[], Any]) -> None:
        while not conn.hung_up():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(conn.lost.wait(), LOST_POLL)
        with contextlib.suppress(OSError):
            on_lost()

    def type_keys(self, data: bytes) -> None:
        """Bytes to the child's terminal as if its user typed them (the detach keys)."""
        if self.master >= 0:
            os.write(self.master, data)

    def terminate(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()

    async def _relay_pty(self, conn: Connection, stdin: bool, wanted: bool) -> None:
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()

        def readable() -> None:
            try:
                data = os.read(self.master, 65536)
            except BlockingIOError:
                return
            except OSError:  # EIO: every slave closed
                data = b""
            chunks.put_nowait(data or None)
            if not data:
                loop.remove_reader(self.master)

        loop.add_reader(self.master, readable)
        feeder = asyncio.create_task(self._feed(conn, lambda data: _write_fd(self.master, data), None)) \
            if stdin else None
        try:
            alive = True
            while (data := await chunks.get()) is not None:
                # A client gone: keep reading (never close the master under the child: the
                # hangup would reach the container), so the container goes on as with docker.
                alive = alive and (not wanted or await conn.write(data))
        finally:
            loop.remove_reader(self.master)
            if feeder is not None:
                feeder.cancel()
            os.close(self.master)
            self.master = -1

    async def _relay_pipes(self, conn: Connection, multiplexed: bool, stdin: bool, streams: frozenset[int]) -> None:
        proc = self.proc
        assert proc.stdout is not None and proc.stderr is not None
        lock = asyncio.Lock()
        alive = [True]

        async def pump(reader: asyncio.StreamReader, stream: int) -> None:
            while data := await reader.read(65536):
                if not alive[0] or stream not in streams:
                    continue  # drain, so the child never blocks on a full pipe
                async with lock:
                    alive[0] = await conn.write(frame(stream, data) if multiplexed else data)

        feeder = None
        if stdin and proc.stdin is not None:
            writer = proc.stdin

            async def to_child(data: bytes) -> None:
                writer.write(data)
                await writer.drain()

            feeder = asyncio.create_task(self._feed(conn, to_child, writer.close))
        try:
            await asyncio.gather(pump(proc.stdout, STDOUT), pump(proc.stderr, STDERR))
        finally:
            if feeder is not None:
                feeder.cancel()

    @staticmethod
    async def _feed(conn: Connection, write: Callable[[bytes], Awaitable[Any]], at_end: Callable[[], Any] | None
                    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while (data := await conn.incoming.get()) is not None:
                await write(data)
        if at_end is not None:
            with contextlib.suppress(ConnectionError, OSError):
                at_end()


async def _write_fd(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except BlockingIOError:
            await asyncio.sleep(0.01)
