"""core.finalize's signal reset and core.ptyrelay's pieces, without root:
each runs in a forked child so nothing here changes the test process."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import time

from mydocker.core import finalize, ptyrelay
from mydocker.core import syscalls as sc


def _in_child(body) -> bytes:
    """Run body() in a forked child; what it writes to the pipe fd it is given."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            body(w)
        finally:
            os._exit(0)
    os.close(w)
    out = ptyrelay.read_all(r)
    os.waitpid(pid, 0)
    return out


def ignore_libc_reserved() -> None:
    """Ignore the signals the C library keeps for itself (glibc's 32 and 33), as
    make(1) leaves them: signal.signal cannot reach them, rt_sigaction(2) can."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    ignore = ctypes.create_string_buffer(64)
    ignore[0] = 1  # SIG_IGN in the handler field, first on every layout (little-endian)
    for sig in set(range(1, signal.NSIG)) - signal.valid_signals():
        assert sc._SYS_RT_SIGACTION is not None
        assert libc.syscall(ctypes.c_long(sc._SYS_RT_SIGACTION), ctypes.c_long(sig), ignore, None,
                            ctypes.c_long(8)) == 0, ctypes.get_errno()


def _masks() -> dict[str, str]:
    with open("/proc/self/status") as f:
        return dict(re.findall(r"^(Sig(?:Ign|Blk)):\s*([0-9a-f]+)$", f.read(), re.M))


def test_reset_signals_leaves_nothing_ignored_or_blocked():
    def body(w: int) -> None:
        for sig in (signal.SIGXFSZ, signal.SIGPIPE, signal.SIGUSR1, signal.SIGTERM, signal.SIGRTMIN + 3):
            signal.signal(sig, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2, signal.SIGINT, signal.SIGRTMAX})
        ignore_libc_reserved()
        before = _masks()
        finalize.reset_signals()
        os.write(w, json.dumps([before, _masks()]).encode())

    before, after = json.loads(_in_child(body))
    assert int(before["SigIgn"], 16) & (1 << 31) and int(before["SigBlk"], 16)  # 32 is bit 31
    assert after == {"SigIgn": "0000000000000000", "SigBlk": "0000000000000000"}


def test_the_master_goes_over_the_socket_and_eof_means_none():
    ours, theirs = socket.socketpair()
    master, slave = os.openpty()
    sender = os.fork()
    if sender == 0:
        ours.close()
        ptyrelay.send_master(theirs, master)  # returns once the receiver acknowledged
        os._exit(0)
    theirs.close()
    os.close(master)
    received = ptyrelay.receive_master(ours, size=False)
    os.waitpid(sender, 0)
    os.write(received, b"through\n")
    assert os.read(slave, 100) == b"through\n"
    for fd in (slave, received):
        os.close(fd)
    ours, theirs = socket.socketpair()
    theirs.close()
    assert ptyrelay.receive_master(ours, size=False) == -1


def test_raw_mode_keeps_what_was_typed_before_it():
    """tty.setraw's default (TCSAFLUSH) drops pending input; ours must not."""
    pid, master = pty.fork()
    if pid == 0:
        try:
            time.sleep(0.5)  # the parent has typed by now
            with ptyrelay.raw_mode(True):
                ready, _, _ = select.select([0], [], [], 2)
                got = os.read(0, 100) if ready else b"nothing"
            os.write(1, b"<" + got.strip() + b">")
        finally:
            os._exit(0)
    os.write(master, b"typed early\n")
    out = b""
    while True:
        try:
            chunk = os.read(master, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    os.close(master)
    assert b"<typed early>" in out, out
