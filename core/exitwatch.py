"""The exit watcher: how mydocker-runc learns the exit status of a container
whose init it does not reap.

runc's callers (conmon, containerd's shim) are the init's subreaper: they reap
it and keep its status to themselves, and no later `state` or `delete` can ask
the kernel for it. The kernel does tell listeners of the process events
connector (netlink NETLINK_CONNECTOR, CN_IDX_PROC) the wait status of every task
that exits. `create` starts this watcher beside the container, as
`python -I -S exitwatch.py PATH READY_FD`, stdlib only: it subscribes to exit
events (only those, on kernels >= 6.6, which filter for us), reads "PID START"
on its stdin, says it listens on READY_FD, and writes {"status": wait status}
to PATH when PID's thread group leader exits; then it ends. `delete` (and `kill`, `update`) read PATH to record
the real status in the log.

What it cannot see it does not invent: without CAP_NET_ADMIN or the connector
(another network namespace than the host's), or if the event was lost, PATH is
not written and the log says the status is unknown (255), as before.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import struct
import sys

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_EVENT_EXIT = 0x80000000
_NLMSG_DONE = 3
_NLMSG_HDR = struct.Struct("=IHHII")
_CN_MSG = struct.Struct("=IIIIHH")
_EVENT = struct.Struct("=IIQ")  # what, cpu, timestamp_ns
_EXIT = struct.Struct("=IIII")  # process_pid, process_tgid, exit_code, exit_signal
_EVENT_AT = _NLMSG_HDR.size + _CN_MSG.size
LIVENESS_CHECK = 5.0  # seconds between checks that the process still runs (a lost event)


def _filters_by_event(release: str) -> bool:
    """Kernels from 6.6 take a proc_input (op, event type) and send only those."""
    try:
        major, minor = (int(part) for part in release.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (6, 6)


def subscribe(release: str | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, NETLINK_CONNECTOR)
    try:
        sock.bind((0, CN_IDX_PROC))
        if _filters_by_event(release or os.uname().release):
            payload = struct.pack("=II", PROC_CN_MCAST_LISTEN, PROC_EVENT_EXIT)
        else:
            payload = struct.pack("=I", PROC_CN_MCAST_LISTEN)
        message = _CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(payload), 0) + payload
        sock.send(_NLMSG_HDR.pack(_NLMSG_HDR.size + len(message), _NLMSG_DONE, 0, 0, 0) + message)
    except OSError:
        sock.close()
        raise
    return sock


def exit_of(data: bytes) -> tuple[int, int, int] | None:
    """(pid, tgid, wait status) of an exit event in one netlink datagram."""
    if len(data) < _EVENT_AT + _EVENT.size + _EXIT.size:
        return None
    what, _, _ = _EVENT.unpack_from(data, _EVENT_AT)
    if what != PROC_EVENT_EXIT:
        return None
    pid, tgid, status, _ = _EXIT.unpack_from(data, _EVENT_AT + _EVENT.size)
    return pid, tgid, status


def _stat(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return raw[raw.rindex(b")") + 2:].split()  # fields from 3 (state) on


def running(pid: int, started: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != b"Z" and int(fields[19]) == started


def zombie_status(pid: int, started: int) -> int | None:
    """The wait status of pid if it is our process, exited and not yet reaped."""
    fields = _stat(pid)
    if fields is None or fields[0] != b"Z" or int(fields[19]) != started or len(fields) < 50:
        return None
    return int(fields[49])  # field 52, exit_code, in waitpid(2)'s form


def watch(sock: socket.socket, pid: int, started: int) -> int | None:
    """Block until pid's thread group leader exits: its wait status (None if unknown)."""
    sock.settimeout(LIVENESS_CHECK)
    while True:
        if not running(pid, started):
            # exited before we listened, or while an event was lost (ENOBUFS)
            return zombie_status(pid, started)
        try:
            while True:
                found = exit_of(sock.recv(65536))
                if found is not None and found[0] == found[1] == pid:
                    return found[2]
        except TimeoutError:
            continue
        except OSError as exc:
            if exc.errno != errno.ENOBUFS:
                return None


def record(path: str, status: int) -> None:
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w") as f:
            json.dump({"status": status}, f)
        os.replace(tmp, path)
    except OSError:
        pass  # the container was deleted meanwhile: nobody will ask


class Watcher:
    """A watcher started early, while the init is still being made (a Python start-up
    is tens of ms that create would otherwise add), told which process to watch
    once there is one."""

    def __init__(self, path: str) -> None:
        import subprocess

        self.proc: subprocess.Popen[bytes] | None = None
        ready_r, ready_w = os.pipe()
        self.ready = ready_r
        try:
            # own session, none of our stdio: a caller reads our output to its end
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__), path, str(ready_w)], pass_fds=(ready_w,),
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, cwd="/")
        except OSError:
            self.proc = None
        finally:
            os.close(ready_w)

    def watch(self, pid: int, started: int, timeout: float = 5.0) -> int | None:
        """Give it the process; the watcher's pid once it listens, None if it cannot."""
        import select

        if self.proc is None or self.proc.stdin is None:
            self.cancel()
            return None
        try:
            self.proc.stdin.write(f"{pid} {started}\n".encode())
            self.proc.stdin.close()
            listening = bool(select.select([self.ready], [], [], timeout)[0]) and os.read(self.ready, 1) == b"1"
        except OSError:
            listening = False
        os.close(self.ready)
        if not listening:
            self.proc.kill()
            self.proc.wait()
            return None
        self.proc.returncode = 0  # not ours to wait for: the caller's subreaper reaps it once we have exited
        return self.proc.pid

    def cancel(self) -> None:
        """No process to watch (create failed): it reads the end of its input and goes."""
        if self.proc is not None:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                self.proc.stdin.close()
            self.proc.wait()
            self.proc = None
        try:
            os.close(self.ready)
        except OSError:
            pass


def main(argv: list[str]) -> int:
    path, ready = argv[1], int(argv[2])
    try:
        sock = subscribe()
    except OSError:
        os.close(ready)
        return 1
    line = sys.stdin.readline().split()
    if len(line) != 2:
        return 0  # create failed: nothing to watch
    pid, started = int(line[0]), int(line[1])
    os.write(ready, b"1")
    os.close(ready)
    status = watch(sock, pid, started)
    if status is not None:
        record(path, status)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
