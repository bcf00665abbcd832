"""A bridge container's network, made by a helper that `run` forks at its start.

Making a veth needs pyroute2, whose import (~130 ms) was the longest step of a
bridged `run -d`: the monitor paid it between the init's "R" and "G". `run`
forks this helper before it does anything else, so the import runs on the other
core while the CLI creates the container; the monitor (a later fork of the same
CLI, which inherits the helper's pipes) sends it the init's pid and gets the
endpoint back. The helper does exactly what the monitor would have done
(networks.connect_all, recorded as the monitor: same command, same pid), then
exits. Without a helper (the API server, `start`, a helper that died) the
monitor connects itself, as before.
"""

from __future__ import annotations

import json
import os
from typing import Any

from mydocker.statemachine.context import Context

# (request's write end, answer's read end) in the CLI and the monitor it forks;
# the monitor closes its copies (core.monitor.inherited_fds) once the init is prepared
_pipes: tuple[int, int] | None = None


def start(root: str) -> None:
    """Fork the helper (twice, so that nobody has to reap it)."""
    global _pipes
    request_r, request_w = os.pipe2(os.O_CLOEXEC)
    answer_r, answer_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        try:
            if os.fork() == 0:
                _serve(root, request_r, answer_w)
        finally:
            os._exit(0)
    os.close(request_r)
    os.close(answer_w)
    os.waitpid(pid, 0)
    from mydocker.core import monitor  # after the fork: the helper is forked as early as can be

    _pipes = (request_w, answer_r)
    monitor.inherited_fds[:] = [request_w, answer_r]


def release() -> None:
    """The CLI's copies, once the monitor has reported (it used the helper or never will):
    the helper waits for nobody then."""
    global _pipes
    if _pipes is not None:
        from mydocker.core import monitor

        for fd in _pipes:
            os.close(fd)
        _pipes = None
        monitor.inherited_fds.clear()


def waiting() -> bool:
    return _pipes is not None


def connect_all(ctx: Context, container_id: str, config: dict[str, Any], pid: int) -> dict[str, Any] | None:
    """networks.connect_all, through the helper when there is one."""
    global _pipes
    if _pipes is None:
        from mydocker.statemachine import networks

        return networks.connect_all(ctx, container_id, config, pid)
    request_w, answer_r = _pipes
    _pipes = None  # one container, one request
    request = {"id": container_id, "config": config, "pid": pid, "command": ctx.command, "actor_pid": os.getpid()}
    try:
        _write_all(request_w, json.dumps(request).encode() + b"\n")
    except BrokenPipeError:  # it died before it read anything: nothing is half done
        from mydocker.statemachine import networks

        return networks.connect_all(ctx, container_id, config, pid)
    ctx.conn  # noqa: B018 - the caller's next step needs it: opened while the helper works
    answer = _read_all(answer_r)
    if not answer:
        raise RuntimeError("the network helper died before connecting the container")
    reply = json.loads(answer)
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return reply["endpoint"]


class _OnBehalf(Context):
    """The monitor's context as the log sees it: its pid, not the helper's."""

    def __init__(self, root: str, command: str, pid: int) -> None:
        super().__init__(root, command)
        self.pid = pid

    def actor(self) -> dict[str, Any]:
        found = super().actor()
        found["pid"] = self.pid
        return found


def _serve(root: str, request_r: int, answer_w: int) -> None:
    # Out of the caller's session and stdio: Ctrl-C at its terminal is the
    # monitor's to forward, and `id=$(mydocker run -d ...)` must not wait for us.
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    low = 3
    for keep in sorted((request_r, answer_w)):
        os.closerange(low, keep)
        low = keep + 1
    os.closerange(low, 1 << 16)
    from mydocker.statemachine import networks

    try:
        import pyroute2  # noqa: F401 - what core.network's functions import: the reason for this process
    except ImportError:
        pass  # connect_all imports it again and reports the error
    ctx = _OnBehalf(root, "", 0)
    try:
        ctx.conn  # noqa: B018 - opened while nobody waits for us yet
    except Exception:  # noqa: BLE001 - connect_all meets it again and reports it
        pass
    line = _read_line(request_r)
    if not line:
        ctx.close()
        return  # no bridge after all, or the start failed before the network
    request = json.loads(line)
    ctx.command, ctx.pid = request["command"], request["actor_pid"]
    try:
        endpoint = networks.connect_all(ctx, request["id"], request["config"], request["pid"])
        reply: dict[str, Any] = {"endpoint": endpoint}
    except Exception as exc:  # noqa: BLE001 - the monitor reports it, as if it had failed there
        reply = {"error": str(exc)}
    _write_all(answer_w, json.dumps(reply).encode())
    os.close(answer_w)
    ctx.close()


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _read_line(fd: int) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 65536)
        if not chunk:
            return b""
        data += chunk
    return data


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)
