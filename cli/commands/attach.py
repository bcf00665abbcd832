"""mydocker attach [--no-stdin] [--sig-proxy=true|false] [--detach-keys KEYS] CONTAINER

Streams what the container writes from now on (stdout to ours, stderr to
ours) and, for a container started with -i, sends our stdin to it; the detach
keys (ctrl-p,ctrl-q unless --detach-keys says otherwise) leave it running.
Passes the signals we get to its init (not for a tty, as docker), and exits
with its exit code once it stops.

A detached container is reached through its waiter's attach socket
(core.attachsock). One whose monitor has no socket (started in the foreground
by `run` without -d, or by an older mydocker) is followed through its log,
output only."""

from __future__ import annotations

import argparse
import os
import select
import signal
import socket
import sys
import time

from mydocker.cli.parsing import Parser, UsageError
from mydocker.cli.terminal import DEFAULT_DETACH_KEYS, DetachKeys, parse_detach_keys
from mydocker.statemachine.context import Context

POLL = 0.05  # seconds between looks at the log
PROXIED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
           signal.SIGWINCH)


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise UsageError(f'invalid argument "{text}" for "--sig-proxy" flag: strconv.ParseBool: parsing "{text}": '
                     "invalid syntax")


def parser() -> Parser:
    p = Parser("attach", "Attach local standard input, output, and error streams to a running container")
    p.add_argument("--no-stdin", action="store_true", help="do not attach STDIN")
    p.add_argument("--sig-proxy", type=_bool, nargs="?", const=True, default=True,
                   help="proxy all received signals to the process (default true)")
    p.add_argument("--detach-keys", help="override the key sequence for detaching a container")
    p.add_argument("container")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.core import attachsock
    from mydocker.statemachine import queries
    from mydocker.statemachine.machine import judge

    keys = parse_detach_keys(args.detach_keys if args.detach_keys is not None else DEFAULT_DETACH_KEYS)
    view = queries.get(ctx.conn, args.container)
    judge(view, "attach")
    spec = view.config["spec"]
    tty = bool(spec.get("tty"))
    if tty and not args.no_stdin and not os.isatty(0):
        from mydocker.cli.errors import CliError

        raise CliError("the input device is not a TTY")
    received: list[int] = []
    if args.sig_proxy and not tty:
        for signum in PROXIED:
            signal.signal(signum, lambda n, _f: received.append(n))
    sock = attachsock.connect(view.config["directory"])
    if sock is None:
        return _follow_log(ctx, view, received)
    with_stdin = bool(spec.get("interactive")) and not args.no_stdin
    from mydocker.cli.terminal import raw_mode

    with raw_mode(tty and with_stdin):
        if tty:
            signal.signal(signal.SIGWINCH, lambda *_: _send_winsize(sock))
            _send_winsize(sock)
        detached = _relay(ctx, view.id, sock, with_stdin, DetachKeys(keys), received)
    if detached:
        sys.stderr.write("read escape sequence\n")  # the terminal is cooked again: \n is \r\n
        return 1  # docker's exit code for a detach
    return _exit_code(ctx, view.id)


def _relay(ctx: Context, cid: str, sock: socket.socket, with_stdin: bool, keys: DetachKeys,
           received: list[int]) -> bool:
    """Copy until the container's side closes; True when the user detached."""
    from mydocker.core.attachsock import Frames, frame

    frames = Frames()
    reading_stdin = with_stdin
    ctx.close()  # no connection held while attached
    while True:
        _proxy(ctx, cid, received)
        try:
            ready, _, _ = select.select([sock.fileno(), *([0] if reading_stdin else [])], [], [], 0.5)
        except InterruptedError:
            continue
        if 0 in ready:
            data = os.read(0, 65536)
            if not data:
                reading_stdin = False  # docker keeps the container's stdin open after ours ends
            else:
                before, detached = keys.feed(data)
                if before:
                    sock.sendall(frame(b"i", before))
                if detached:
                    sock.close()
                    return True
        if sock.fileno() in ready:
            data = sock.recv(65536)
            if not data:
                sock.close()
                return False
            for kind, payload in frames.feed(data):
                out = sys.stderr if kind == b"2" else sys.stdout
                out.buffer.write(payload)
                out.flush()


def _proxy(ctx: Context, cid: str, received: list[int]) -> None:
    from mydocker.statemachine import lifecycle
    from mydocker.statemachine.errors import UserError

    while received:
        got = received.pop(0)
        if got != signal.SIGWINCH:
            try:
                lifecycle.kill(ctx, cid, got)
            except UserError:
                pass  # it stopped meanwhile
            ctx.close()


def _send_winsize(sock: socket.socket) -> None:
    import fcntl
    import struct
    import termios

    from mydocker.core.attachsock import frame

    if not os.isatty(0):
        return
    try:
        size = fcntl.ioctl(0, termios.TIOCGWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
        sock.sendall(frame(b"w", size))
    except OSError:
        pass


def _exit_code(ctx: Context, cid: str) -> int:
    """The socket closed: the container is ending; its `die` is recorded shortly."""
    from mydocker.statemachine import queries
    from mydocker.statemachine.machine import alive

    deadline = time.monotonic() + 30
    while True:
        current = queries.by_id(ctx.conn, cid)
        if current is None or not alive(current) or time.monotonic() > deadline:
            return int((current.row["exit_code"] if current is not None else 0) or 0)
        ctx.close()
        time.sleep(POLL)


def _follow_log(ctx: Context, view, received: list[int]) -> int:  # type: ignore[no-untyped-def]
    from mydocker.core.logs import parse_lines
    from mydocker.statemachine import queries
    from mydocker.statemachine.machine import alive

    path = os.path.join(view.config["directory"], "container.log")
    position = os.path.getsize(path) if os.path.exists(path) else 0
    while True:
        _proxy(ctx, view.id, received)
        current = queries.by_id(ctx.conn, view.id)
        running = current is not None and alive(current)
        position = _copy_new(path, position, parse_lines)
        if not running:
            code = current.row["exit_code"] if current is not None else 0
            return int(code or 0)
        ctx.close()  # no connection held between looks
        time.sleep(POLL)


def _copy_new(path: str, position: int, parse_lines) -> int:  # type: ignore[no-untyped-def]
    try:
        with open(path, "rb") as f:
            f.seek(position)
            chunk = f.read()
    except FileNotFoundError:
        return position
    complete = chunk[: chunk.rfind(b"\n") + 1]  # a half-written line waits for next time
    for record in parse_lines(iter(complete.decode("utf-8", "replace").splitlines(keepends=True))):
        out = sys.stderr if record.get("stream") == "stderr" else sys.stdout
        out.write(record.get("log", ""))
        out.flush()
    return position + len(complete)
