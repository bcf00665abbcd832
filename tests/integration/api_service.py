"""A `mydocker system service` on a test's root, and ways to talk to it: raw HTTP
over its unix socket, the docker CLI (Debian's docker.io 20.10 client, pointed at
our socket: never at a real dockerd), and the docker Python package.

One service per test module (the fixture is module-scoped), stopped with SIGTERM
and leak-checked like every Runtime:

    @pytest.fixture(scope="module")
    def api(tmp_path_factory):
        yield from serve_api(tmp_path_factory)
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import MYDOCKER, Runtime, _checked_runtime

# The 20.10 client the Engine API 1.41 is written for; /usr/local/bin/docker may be newer.
DOCKER_CLI = next((p for p in ("/usr/bin/docker", shutil.which("docker")) if p and os.path.exists(p)), None)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.path)
        self.sock = sock


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class ApiService:
    def __init__(self, rt: Runtime, socket_path: Path) -> None:
        self.rt = rt
        self.socket = socket_path
        self.log = open(rt.root.parent / "service.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [MYDOCKER, "--root", str(rt.root), "system", "service", "--listen", f"unix://{socket_path}"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env={**os.environ, **rt.env})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited: {self.service_log()}")
            try:
                if self.request("GET", "/_ping").status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the service did not answer: {self.service_log()}")

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def service_log(self) -> str:
        self.log.flush()
        return (self.rt.root.parent / "service.log").read_text(errors="replace")

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                timeout: float = 60) -> Answer:
        conn = UnixHTTPConnection(str(self.socket), timeout)
        try:
            data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
            conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
            resp = conn.getresponse()
            return Answer(resp.status, resp.read(), dict(resp.getheaders()))
        finally:
            conn.close()

    def docker(self, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """The docker CLI against this service, with a config dir of its own."""
        assert DOCKER_CLI, "no docker CLI (Debian's docker.io provides one)"
        env = {**os.environ, "DOCKER_HOST": self.host, "DOCKER_CONFIG": str(self.rt.root.parent / "docker-config")}
        env.pop("DOCKER_CONTEXT", None)
        return subprocess.run([DOCKER_CLI, *args], capture_output=True, text=True, timeout=timeout, env=env,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)

    def client(self) -> Any:
        import docker

        return docker.DockerClient(base_url=self.host, version="1.41", timeout=60)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        return code


def serve_api(tmp_path_factory: pytest.TempPathFactory, name: str = "api") -> Iterator[ApiService]:
    """A checked Runtime (leak check at the end) and a service on it; afterwards every
    container still there is removed through the CLI, then the service stops."""
    base = tmp_path_factory.mktemp(name)
    runtime_gen = _checked_runtime(base)
    rt = next(runtime_gen)
    service = ApiService(rt, base / "api.sock")
    try:
        yield service
    finally:
        code = service.stop()
        for cid in rt.ok("ps", "-aq", "--no-trunc").split():
            rt("rm", "-f", cid)
        next(runtime_gen, None)  # the leak check
        assert code == 0, f"the service exited with {code}: {service.service_log()}"
        assert not service.socket.exists(), "the service left its socket behind"


