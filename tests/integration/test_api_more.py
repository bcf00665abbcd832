"""The Engine API's container prune and stats, attach's stream selection, detach keys
through the API, the caps on what a request body may cost (load, archive), driven by
the docker CLI (20.10), docker-py and raw HTTP on one service for the module.
Containers use --network none: the API, not networking, is under test here."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import socket
import termios
import time
from urllib.parse import quote

import pytest

from tests.integration.api_service import DOCKER_CLI, ApiService, serve_api
from tests.integration.conftest import read_to_hangup

NONE = ("--network", "none")


LOAD_LIMIT = 1 << 20  # this module's service loads at most 1 MiB: the cap is met cheaply


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    before = os.environ.get("MYDOCKER_API_MAX_LOAD")
    os.environ["MYDOCKER_API_MAX_LOAD"] = str(LOAD_LIMIT)  # read by the service as it starts: only its own
    try:
        service = serve_api(tmp_path_factory, "more")
        first = next(service)
    finally:
        if before is None:
            del os.environ["MYDOCKER_API_MAX_LOAD"]
        else:
            os.environ["MYDOCKER_API_MAX_LOAD"] = before
    yield first
    next(service, None)


def docker_ok(api: ApiService, *args: str) -> str:
    out = api.docker(*args)
    assert out.returncode == 0, f"docker {' '.join(args)} -> {out.returncode}: {out.stderr}"
    return out.stdout


def test_container_prune_with_label_and_until_filters(api: ApiService) -> None:
    docker_ok(api, "create", "--name", "old-keep", "--label", "keep=yes", *NONE, "busybox", "true")
    docker_ok(api, "create", "--name", "old-drop", *NONE, "busybox", "true")
    docker_ok(api, "run", "-d", "--name", "busy", *NONE, "busybox", "sleep", "300")
    try:
        bad = api.request("POST", "/v1.41/containers/prune?filters=" + quote(json.dumps({"colour": ["red"]})))
        assert bad.status == 400 and "Invalid filter" in bad.json()["message"]
        # until= an hour ago keeps all: nothing is that old
        hour = api.request("POST", "/v1.41/containers/prune?filters=" + quote(json.dumps({"until": ["1h"]})))
        assert hour.status == 200 and hour.json()["ContainersDeleted"] is None
        out = docker_ok(api, "container", "prune", "-f", "--filter", "label!=keep=yes")
        assert out.startswith("Deleted Containers:\n") and "Total reclaimed space:" in out
        names = docker_ok(api, "ps", "-a", "--format", "{{.Names}}").split()
        assert sorted(names) == ["busy", "old-keep"]  # the running one and the labelled one stay
        client = api.client()
        keep_id = client.containers.get("old-keep").id
        assert client.containers.prune(filters={"label": "keep"})["ContainersDeleted"] == [keep_id]
        assert sorted(docker_ok(api, "ps", "-a", "--format", "{{.Names}}").split()) == ["busy"]
    finally:
        api.rt("rm", "-f", "busy", "old-keep", "old-drop")


def test_stats_one_shot_streamed_and_through_docker_stats(api: ApiService) -> None:
    cid = docker_ok(api, "run", "-d", "--name", "worker", *NONE, "busybox",
                    "sh", "-c", "while :; do :; done").strip()
    docker_ok(api, "create", "--name", "resting", *NONE, "busybox", "true")
    try:
        shot = api.request("GET", "/v1.41/containers/worker/stats?stream=false&one-shot=true").json()
        assert shot["id"] == cid and shot["name"] == "/worker"
        assert shot["pids_stats"]["current"] >= 1 and shot["memory_stats"]["usage"] > 0
        assert shot["memory_stats"]["limit"] > 0 and shot["precpu_stats"]["cpu_usage"]["total_usage"] == 0
        two = api.request("GET", "/v1.41/containers/worker/stats?stream=false").json()
        spent = two["cpu_stats"]["cpu_usage"]["total_usage"] - two["precpu_stats"]["cpu_usage"]["total_usage"]
        assert spent > 0 and two["cpu_stats"]["system_cpu_usage"] > two["precpu_stats"]["system_cpu_usage"]
        resting = api.request("GET", "/v1.41/containers/resting/stats?stream=false").json()
        assert resting["read"] == "0001-01-01T00:00:00Z" and resting["memory_stats"] == {}
        streamed = api.client().api.stats("worker", decode=True, stream=True)
        first, second = next(streamed), next(streamed)
        assert second["cpu_stats"]["cpu_usage"]["total_usage"] > first["cpu_stats"]["cpu_usage"]["total_usage"]
        assert second["precpu_stats"] == first["cpu_stats"]
        streamed.close()
        rows = docker_ok(api, "stats", "--no-stream", "--format",
                         "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}").splitlines()
        assert len(rows) == 1, rows
        name, cpu, mem, pids = rows[0].split("|")
        assert name == "worker" and float(cpu.rstrip("%")) > 1.0 and int(pids) >= 1
        assert not mem.startswith("0B") and " / " in mem
        assert api.request("GET", "/v1.41/containers/nothing/stats?stream=false").status == 404
    finally:
        api.rt("rm", "-f", "worker", "resting")


def test_archive_put_of_a_body_that_is_not_a_tar_is_400(api: ApiService) -> None:
    docker_ok(api, "create", "--name", "target", *NONE, "busybox", "true")
    try:
        for body in (b"this is not a tar\n" * 64, b"\x00junk" * (1 << 18)):  # one chunk, then many
            answer = api.request("PUT", "/v1.41/containers/target/archive?path=/tmp", body,
                                 headers={"Content-Type": "application/x-tar"}, timeout=30)
            assert answer.status == 400, (answer.status, answer.body)
            assert answer.json()["message"]
        assert api.request("GET", "/_ping").status == 200
    finally:
        api.rt("rm", "-f", "target")


def _answer(sock: socket.socket) -> bytes:
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = sock.recv(4096)
        if not chunk:
            break
        got += chunk
    return got


def test_load_refuses_a_body_over_its_limit_before_spooling_it(api: ApiService) -> None:
    def raw(head: str, body_chunks: list[bytes]) -> bytes:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(str(api.socket))
        try:
            sock.sendall(head.encode())
            for chunk in body_chunks:
                try:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except (BrokenPipeError, ConnectionResetError):
                    break  # the service answered early and closed: as it may
            return _answer(sock)
        finally:
            sock.close()

    spools = lambda: sorted(os.listdir(api.rt.root))  # noqa: E731 - the root's own files, spools included
    before = spools()
    claimed = raw("POST /v1.41/images/load HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
                  f"Content-Length: {LOAD_LIMIT + 1}\r\n\r\n", [])
    assert claimed.startswith(b"HTTP/1.1 413"), claimed
    chunked = raw("POST /v1.41/images/load HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n", [b"\0" * 65536] * (LOAD_LIMIT // 65536 + 4))
    assert chunked.startswith(b"HTTP/1.1 413"), chunked
    assert spools() == before and api.request("GET", "/_ping").status == 200
    small = api.request("POST", "/v1.41/images/load", b"\0" * 1024, headers={"Content-Type": "application/x-tar"})
    assert small.status == 400  # under the limit, it is read and refused as no archive


def _frames(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while len(data) >= 8:
        size = int.from_bytes(data[4:8], "big")
        out.append((data[0], data[8:8 + size]))
        data = data[8 + size:]
    return out


def _read_to_end(sock: socket.socket) -> bytes:
    got = b""
    while chunk := sock.recv(65536):
        got += chunk
    return got


def test_attach_sends_only_the_streams_asked_for(api: ApiService) -> None:
    both = ("sh", "-c", "echo out; echo err >&2; sleep 1; echo out2; echo err2 >&2")
    made = api.request("POST", "/v1.41/containers/create?name=split",
                       {"Image": "busybox", "Cmd": list(both), "HostConfig": {"NetworkMode": "none"}})
    cid = made.json()["Id"]
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(str(api.socket))
        sock.sendall(f"POST /v1.41/containers/{cid}/attach?stream=1&stdout=0&stderr=1 HTTP/1.1\r\n"
                     "Host: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
        head = _answer(sock)
        assert head.startswith(b"HTTP/1.1 101"), head
        assert api.request("POST", f"/v1.41/containers/{cid}/start").status == 204
        rest = head.split(b"\r\n\r\n", 1)[1] + _read_to_end(sock)
        sock.close()
        assert _frames(rest) == [(2, b"err\n"), (2, b"err2\n")]
        assert api.request("POST", f"/v1.41/containers/{cid}/wait").json()["StatusCode"] == 0
        low = api.client().api
        assert low.attach(cid, stdout=False, stderr=True, logs=True) == b"err\nerr2\n"
        assert low.attach(cid, stdout=True, stderr=False, logs=True) == b"out\nout2\n"
    finally:
        api.rt("rm", "-f", "split")


def test_docker_attach_no_stdin_sends_the_container_nothing(api: ApiService) -> None:
    docker_ok(api, "run", "-d", "-i", "--name", "listener", *NONE, "busybox",
              "sh", "-c", "sleep 2; read -t 1 line; echo \"got [$line]\"; echo done >&2")
    try:
        quiet = api.docker("attach", "--no-stdin", "listener", input="secret\n", timeout=30)
        assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "got []\n", "done\n")
    finally:
        api.rt("rm", "-f", "listener")


class Terminal:
    """The docker CLI on a pty of its own: what it prints, what the user types."""

    def __init__(self, api: ApiService, *args: str) -> None:
        assert DOCKER_CLI
        env = {**os.environ, "DOCKER_HOST": api.host, "DOCKER_CONFIG": str(api.rt.root.parent / "docker-config")}
        env.pop("DOCKER_CONTEXT", None)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(DOCKER_CLI, [DOCKER_CLI, *args], env)
        self.out = b""

    def read_until(self, needle: bytes, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.out and time.monotonic() < deadline:
            if select.select([self.fd], [], [], 0.2)[0]:
                try:
                    self.out += os.read(self.fd, 4096)
                except OSError:
                    break
        assert needle in self.out, self.out

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def exit_code(self, timeout: float = 30) -> int | None:
        """The CLI's exit code once it ended by itself; None (and killed) if it did not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                # what it wrote just before it ended (docker's "read escape sequence")
                # may still sit in the pty: read up to the hang-up
                self._drain()
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            if select.select([self.fd], [], [], 0.2)[0]:
                try:
                    self.out += os.read(self.fd, 4096)
                except OSError:
                    pass
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        return None

    def _drain(self) -> None:
        self.out += read_to_hangup(self.fd)

    def wait_raw(self, timeout: float = 30) -> None:
        """Until the CLI has put its terminal in raw mode (it does once attached):
        what is typed before would be echoed and edited by the line discipline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not termios.tcgetattr(self.fd)[3] & (termios.ICANON | termios.ECHO):
                return
            if select.select([self.fd], [], [], 0.1)[0]:
                try:
                    self.out += os.read(self.fd, 4096)
                except OSError:
                    break
        raise AssertionError(f"the terminal never went raw: {self.out!r}")


def test_detach_keys_through_start_ai_and_attach(api: ApiService) -> None:
    docker_ok(api, "create", "-it", "--name", "shell", *NONE, "busybox", "sh")
    try:
        term = Terminal(api, "start", "-ai", "shell")
        term.read_until(b"# ")
        term.type(b"echo one-$((40+2))\r")
        term.read_until(b"one-42")
        term.type(b"\x10\x11")  # ctrl-p ctrl-q: docker's CLI reads them and hangs up
        assert term.exit_code() == 0, term.out
        assert docker_ok(api, "inspect", "-f", "{{.State.Status}}", "shell") == "running\n"
        socket_path = api.rt.inspect("shell")["Id"]
        socket_path = api.rt.root / "containers" / socket_path / "attach.sock"
        deadline = time.monotonic() + 30
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)  # the monitor handed the container to its waiter, which serves attach
        assert socket_path.exists()
        again = Terminal(api, "attach", "--detach-keys", "ctrl-x", "shell")
        again.wait_raw()
        again.type(b"echo two-$((40+3))\r")
        again.read_until(b"two-43")
        again.type(b"\x18")
        assert again.exit_code() == 1 and b"read escape sequence" in again.out, again.out
        assert docker_ok(api, "inspect", "-f", "{{.State.Status}}", "shell") == "running\n"
        docker_ok(api, "stop", "-t", "1", "shell")
        custom = Terminal(api, "start", "-ai", "--detach-keys", "ctrl-a,x", "shell")
        custom.read_until(b"# ")
        custom.type(b"\x01x")
        assert custom.exit_code() == 0, custom.out
        assert docker_ok(api, "inspect", "-f", "{{.State.Status}}", "shell") == "running\n"
    finally:
        api.rt("rm", "-f", "shell")
