"""The waiter: what a detached container's monitor becomes once the container runs.

The monitor is a fork of the CLI and holds everything the CLI imported (23 MB, 35
with pyroute2). From the container's first instruction to its exit all that is left
to do is copy its output to the log and wait for it, so the monitor execs this file
as `python -I -S waiter.py ARGS`: stdlib only, no site-packages, ~11 MB RSS of which
4.5 MB private. The pid and its start time stay the monitor's, so the (monitor_pid,
monitor_start) the log recorded in `start` still names this process: a killed waiter
is detected and its container adopted exactly like a killed monitor.

When the container exits, the waiter execs the exit command it was given, with
the wait status appended: the statemachine's code that reads the OOM flag,
records `die` and releases cgroups and network (as conmon runs `podman container
cleanup`). Only that moment pays for the heavy imports; a `stop` or `rm -f`
waiting for the exit does not wait for them: the status is published first
(core.exitstatus).

Run as a script, this module imports nothing of mydocker but core.logs (stdlib).
"""

from __future__ import annotations

import json
import os
import select
import sys


def hand_over(root: str, pid: int, log_path: str, streams: dict[int, str], keep: list[int],
              exit_command: list[str], attach: dict[str, object] | None = None,
              log_options: dict[str, object] | None = None, health: dict[str, object] | None = None,
              dns: dict[str, object] | None = None) -> None:
    """Exec the waiter in this process (the monitor); returns only if it cannot.
    The state root is an argument of its own, so that core.roottags finds the
    waiter among the processes of its root.

    streams: fd -> "stdout" | "stderr" to copy into the log; keep: fds to hold open
    (and close at the end) besides them. exit_command: run, in this process again,
    with the wait status as its last argument once the container has exited.
    health: {"command", "interval"} of the health probe to run every interval.
    dns: {"listen", "forward", "tcp", "hosts", "upstreams"} of the embedded DNS server
    (core.dnsserver) to serve, on a user-defined network."""
    here = os.path.abspath(__file__)
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    if not os.path.isfile(os.path.join(package_parent, "mydocker", "core", "logs.py")):
        return  # not laid out as an importable package (an unusual install): keep the monitor
    dns_fds = [int(dns[k]) for k in ("listen", "forward", "tcp")] if dns else []  # type: ignore[call-overload]
    for fd in [*streams, *keep, *dns_fds]:
        os.set_inheritable(fd, True)
    from mydocker.core.exitstatus import STATUS_FILE

    args = {"pid": pid, "log": log_path, "streams": {str(fd): s for fd, s in streams.items()}, "keep": keep,
            "exit_command": exit_command, "path": package_parent, "attach": attach,
            "status": os.path.join(os.path.dirname(log_path), STATUS_FILE),
            "log_options": log_options or {}, "health": health, "dns": dns}
    try:
        os.execv(sys.executable, [sys.executable, "-I", "-S", here, root, json.dumps(args)])
    except OSError:
        return  # the monitor carries on as before


def spawn_sleeper(root: str, delay: float, command: list[str]) -> tuple[int, int]:
    """A restart policy's wait, as lean as the waiter: this file in a bare
    interpreter that reads its stdin to the end, sleeps delay seconds, then execs
    command with its own pid appended. Returns (its pid, the write end of its
    stdin): the caller closes that once the log names the sleeper. Its own
    session: the caller's terminal or exit does not end it. The root is an
    argument of its own, so that core.roottags finds it."""
    import subprocess

    fork_here_again()
    here = os.path.abspath(__file__)
    args = {"sleep": delay, "command": command}
    proc = subprocess.Popen([sys.executable, "-I", "-S", here, root, json.dumps(args)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True, cwd="/")
    assert proc.stdin is not None
    go = os.dup(proc.stdin.fileno())
    proc.stdin.close()
    proc.returncode = 0  # not ours to reap: it outlives this process
    return proc.pid, go


def fork_here_again() -> None:
    """Children of a monitor are born in the pid namespace it unshared for the
    init, and once that init is dead every fork there fails (ENOMEM). Joining our
    own pid namespace for children again lets the exit path start processes."""
    from mydocker.core import syscalls as sc

    fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        sc.setns(fd, sc.CLONE_NEWPID)
    finally:
        os.close(fd)


def sleep_then_exec(delay: float, command: list[str]) -> None:
    import time

    while os.read(0, 4096):
        pass
    time.sleep(delay)
    os.execv(command[0], [*command, str(os.getpid())])


class HealthTimer:
    """Runs the health probe (a short-lived process: statemachine.health_check)
    every interval, one at a time, from inside the waiting loop: the wait between
    probes costs a select() timeout, nothing resident."""

    def __init__(self, command: list[str] | None, interval: float) -> None:
        import time

        self._clock = time.monotonic
        self.command = command
        self.interval = interval
        self.due = self._clock() + interval  # docker: the first probe after one interval
        self.running = 0

    def timeout(self) -> float | None:
        """How long select() may wait before tick() has something to do."""
        if not self.command:
            return None
        if self.running:
            done, _ = os.waitpid(self.running, os.WNOHANG)
            if not done:
                return 0.1
            self.running = 0
            self.due = self._clock() + self.interval
        return max(0.0, self.due - self._clock())

    def tick(self) -> None:
        if self.command and not self.running and self._clock() >= self.due:
            self.running = _spawn(self.command)


def _spawn(command: list[str]) -> int:
    """A child with none of our fds, its stdio /dev/null."""
    pid = os.fork()
    if pid == 0:
        try:
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):  # an attached monitor's are the user's terminal
                os.dup2(null, fd)
            os.closerange(3, 1 << 16)
            os.execv(command[0], command)
        finally:
            os._exit(127)
    return pid


def soonest(timer: HealthTimer | None, dns: object | None) -> float | None:
    """select()'s timeout: until the health probe or a forwarded DNS query is due."""
    waits = [w for w in (timer.timeout() if timer else None, dns.timeout() if dns else None)  # type: ignore[attr-defined]
             if w is not None]
    return min(waits) if waits else None


def serve_dns(server: object, fd: int) -> None:
    try:
        server.handle(fd)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a query must never cost the container its waiter
        pass


def dns_server(dns: dict | None) -> object | None:
    if not dns:
        return None
    from mydocker.core.dnsserver import Server

    return Server(int(dns["listen"]), int(dns["forward"]), str(dns["hosts"]), list(dns["upstreams"]), int(dns["tcp"]))


def pump(streams: dict[int, str], log_path: str, attach: dict | None = None,
         log_options: dict[str, object] | None = None, timer: HealthTimer | None = None,
         dns: object | None = None) -> object | None:
    """Copy the container's output into its log until its side is closed, serve
    `attach` clients meanwhile (core.attachsock) and DNS queries (core.dnsserver),
    and run the health probes when due. Returns the DNS server, for the caller to close."""
    from mydocker.core.logs import LogWriter

    log = LogWriter(log_path, **(log_options or {}))  # type: ignore[arg-type]
    readers = list(streams)
    server = None
    slot = [dns]

    def adopt(payload: bytes, fds: list[int]) -> None:  # `network connect` hands one over
        from mydocker.core.dnsserver import adopted

        slot[0] = adopted(slot[0], payload, fds)  # type: ignore[arg-type]

    if attach:
        from mydocker.core.attachsock import Server

        try:
            server = Server(attach["directory"], attach["stdin"], attach["tty_master"], attach.get("listener", -1),
                            on_fds=adopt)
        except OSError:
            server = None  # logs and the exit still matter more than attach
    try:
        while readers:
            dns = slot[0]
            attached = server.fds() if server is not None else []
            dns_fds = dns.fds() if dns is not None else []  # type: ignore[attr-defined]
            ready, _, _ = select.select(readers + attached + dns_fds, [], [], soonest(timer, dns))
            if timer:
                timer.tick()
            if dns is not None:
                dns.tick()  # type: ignore[attr-defined]
            for fd in ready:
                if fd in dns_fds:
                    serve_dns(dns, fd)
                    continue
                if server is not None and fd in attached:
                    try:
                        server.handle(fd)
                    except Exception:  # noqa: BLE001 - an attach client must never cost the container its waiter
                        pass
                    if slot[0] is not dns:
                        break  # a DNS server was handed over: select() again, with its sockets
                    continue
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the pty's last slave closed
                    data = b""
                if not data:
                    readers.remove(fd)
                    continue
                log.write(streams[fd], data)
                if server is not None:
                    server.broadcast(streams[fd], data)
    finally:
        log.close()
        if server is not None:
            server.close()
    return slot[0]


def main(argv: list[str]) -> None:
    args = json.loads(argv[2])
    if "sleep" in args:
        sleep_then_exec(float(args["sleep"]), args["command"])
        return
    sys.path.insert(0, args["path"])
    streams = {int(fd): stream for fd, stream in args["streams"].items()}
    health = args.get("health") or {}
    timer = HealthTimer(health.get("command"), float(health.get("interval") or 0)) if health else None
    dns = dns_server(args.get("dns"))
    dns = pump(streams, args["log"], args.get("attach"), args.get("log_options"), timer, dns)
    if dns is not None:
        dns.close()  # type: ignore[attr-defined]
    for fd in [*streams, *args["keep"]]:
        os.close(fd)
    pid = int(args["pid"])
    from mydocker.core.exitstatus import publish, start_time  # here: nothing resident meanwhile

    started = start_time(pid)  # a zombie's until reaped: names this run in the published status
    _, status = os.waitpid(pid, 0)
    if args.get("status"):
        publish(args["status"], pid, started, status)
    command = [*args["exit_command"], str(status)]
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
