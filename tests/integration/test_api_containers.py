"""The Engine API service driven by real clients: the docker CLI (20.10), the docker
Python package and raw HTTP, on one service per module over a checked temp root.
Containers use --network none: the API, not networking, is under test here."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import socket
import sqlite3
import struct
import termios
import threading
import time

import pytest

from tests.integration.api_service import DOCKER_CLI, ApiService, serve_api

NONE = ("--network", "none")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    yield from serve_api(tmp_path_factory, "containers")


def docker_ok(api: ApiService, *args: str) -> str:
    out = api.docker(*args)
    assert out.returncode == 0, f"docker {' '.join(args)} -> {out.returncode}: {out.stderr}"
    return out.stdout


def on_a_terminal(api: ApiService, rows: int, cols: int, *args: str, script: list[bytes]) -> tuple[int, bytes]:
    """The docker CLI on a pty of the given size, answering each prompt with a line."""
    assert DOCKER_CLI
    env = {**os.environ, "DOCKER_HOST": api.host, "DOCKER_CONFIG": str(api.rt.root.parent / "docker-config")}
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(DOCKER_CLI, [DOCKER_CLI, *args], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = b""

    def read_until(needle: bytes, timeout: float = 30) -> None:
        nonlocal out
        deadline = time.monotonic() + timeout
        while needle not in out and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        assert needle in out, out

    for line in script:
        read_until(b"# ")
        os.write(fd, line + b"\r")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # drain until the CLI ends
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def raw(api: ApiService, request: bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(20)
    sock.connect(str(api.socket))
    sock.sendall(request)
    return sock


def read_some(sock: socket.socket, needle: bytes) -> bytes:
    got = b""
    while needle not in got:
        chunk = sock.recv(4096)
        assert chunk, got
        got += chunk
    return got


def service_children(api: ApiService) -> list[int]:
    children = []
    for task in os.listdir(f"/proc/{api.proc.pid}/task"):
        with open(f"/proc/{api.proc.pid}/task/{task}/children") as f:
            children += [int(p) for p in f.read().split()]
    return children


# --- the docker CLI --------------------------------------------------------------------


def test_ping_version_and_headers(api: ApiService) -> None:
    ping = api.request("GET", "/_ping")
    assert (ping.status, ping.body) == (200, b"OK")
    assert ping.headers["Api-Version"] == "1.41" and ping.headers["Ostype"] == "linux"
    assert api.request("HEAD", "/_ping").status == 200
    version = api.request("GET", "/v1.41/version").json()
    assert version["ApiVersion"] == "1.41" and version["Os"] == "linux"
    assert docker_ok(api, "version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}").strip() == "1.41 linux"


def test_docker_run_gives_output_and_exit_code(api: ApiService) -> None:
    hi = api.docker("run", "--rm", *NONE, "busybox", "echo", "hi")
    assert (hi.returncode, hi.stdout) == (0, "hi\n"), hi.stderr
    three = api.docker("run", "--rm", *NONE, "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (three.returncode, three.stdout, three.stderr) == (3, "out\n", "err\n")
    missing = api.docker("run", "--rm", *NONE, "busybox", "no-such-command")
    assert missing.returncode == 127 and "executable file not found" in missing.stderr
    deadline = time.monotonic() + 15
    while docker_ok(api, "ps", "-aq") and time.monotonic() < deadline:
        time.sleep(0.1)  # the failed one's monitor removes it just after the CLI gave up waiting
    assert docker_ok(api, "ps", "-aq") == ""  # --rm removed all three


def test_detached_container_through_ps_logs_exec_inspect_stop_rm(api: ApiService) -> None:
    cid = docker_ok(api, "run", "-d", "--name", "web", "--label", "tier=front", *NONE, "busybox",
                    "sh", "-c", "echo started; echo warn >&2; sleep 300").strip()
    assert len(cid) == 64
    docker_ok(api, "create", "--name", "idle", *NONE, "busybox", "true")
    assert docker_ok(api, "ps", "--format", "{{.Names}}").split() == ["web"]
    assert docker_ok(api, "ps", "-a", "--filter", "status=created", "--format", "{{.Names}}").split() == ["idle"]
    assert docker_ok(api, "ps", "-a", "--filter", "label=tier=front", "-q").split() == [cid[:12]]
    assert docker_ok(api, "inspect", "-f", "{{.State.Status}} {{.Name}} {{.Config.Labels.tier}}", "web") == \
        "running /web front\n"
    deadline = time.monotonic() + 10
    while "started" not in api.docker("logs", "web").stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    logs = api.docker("logs", "web")
    assert (logs.stdout, logs.stderr) == ("started\n", "warn\n")
    inside = api.docker("exec", "-e", "X=y", "web", "sh", "-c", "echo $X; exit 4")
    assert (inside.returncode, inside.stdout) == (4, "y\n")
    assert "sleep 300" in docker_ok(api, "top", "web")
    assert docker_ok(api, "stop", "-t", "1", "web") == "web\n"
    assert docker_ok(api, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web") == "exited 137\n"
    again = api.request("POST", "/containers/web/stop")
    assert again.status == 304
    assert docker_ok(api, "rm", "-f", "web", "idle").split() == ["web", "idle"]
    assert api.docker("inspect", "web").returncode == 1


def test_logs_follow_until_the_container_exits(api: ApiService) -> None:
    docker_ok(api, "run", "-d", "--name", "counter", *NONE, "busybox",
              "sh", "-c", "for i in 1 2 3; do echo n$i; sleep 0.3; done; echo done >&2")
    followed = api.docker("logs", "-f", "counter", timeout=30)
    assert (followed.returncode, followed.stdout, followed.stderr) == (0, "n1\nn2\nn3\n", "done\n")
    last = api.docker("logs", "--tail", "2", "counter")
    assert (last.stdout, last.stderr) == ("n3\n", "done\n")  # the last lines, whichever stream
    assert docker_ok(api, "wait", "counter") == "0\n"
    again = api.docker("start", "-a", "counter", timeout=30)  # attached before its second start
    assert (again.returncode, again.stdout, again.stderr) == (0, "n1\nn2\nn3\n", "done\n")
    docker_ok(api, "rm", "counter")
    piped = api.docker("run", "-i", "--rm", *NONE, "busybox", "cat", input="piped in\n")
    assert (piped.returncode, piped.stdout) == (0, "piped in\n")  # the client's half-close ends cat's stdin


def test_run_it_and_exec_it_on_a_terminal_with_its_size(api: ApiService) -> None:
    code, out = on_a_terminal(api, 33, 101, "run", "-it", "--rm", *NONE, "busybox", "sh",
                              script=[b"stty size; echo $((6*7))", b"exit 5"])
    assert code == 5 and b"33 101\r\n42" in out, out
    docker_ok(api, "run", "-d", "--name", "box", *NONE, "busybox", "sleep", "300")
    code, out = on_a_terminal(api, 20, 70, "exec", "-it", "box", "sh",
                              script=[b"tty; stty size", b"exit 6"])
    assert code == 6 and b"/dev/pts/" in out and b"20 70" in out, out
    piped = api.docker("exec", "-i", "box", "cat", input="through stdin\n")
    assert (piped.returncode, piped.stdout) == (0, "through stdin\n")
    docker_ok(api, "rm", "-f", "box")


def test_create_checks_what_the_exit_path_and_teardown_trust(api: ApiService) -> None:
    def create(extra: dict, host: dict | None = None) -> tuple[int, str]:
        body = {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "none", **(host or {})}, **extra}
        answer = api.request("POST", "/v1.41/containers/create?name=checked", body)
        return answer.status, (answer.json() or {}).get("message", "")

    for host in ({"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": "2"}},
                 {"RestartPolicy": {"Name": "sometimes"}},
                 {"RestartPolicy": {"Name": "always"}, "AutoRemove": True},
                 {"LogConfig": {"Type": "json-file", "Config": {"max-size": "abc"}}},
                 {"LogConfig": {"Type": "syslog"}}):
        assert create({}, host)[0] == 400, host
    for check in ({"Test": "CMD-SHELL true"}, {"Test": ["CMD-SHELL", "true"], "Interval": 5},
                  {"Test": ["CMD-SHELL", "true"], "Retries": -1}, {"Test": ["WHAT", "x"]}):
        assert create({"Healthcheck": check})[0] == 400, check
    # a JSON body must say so (dockerd's CheckForJSON; a web page's text/plain POST)
    plain = api.request("POST", "/v1.41/containers/create?name=checked", b'{"Image": "busybox"}',
                        headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert plain.status == 400 and "must be 'application/json'" in plain.json()["message"]
    assert api.docker("inspect", "checked").returncode == 1, "nothing was made"
    status, _ = create({"Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 10**9}},
                       {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
                        "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}}})
    assert status == 201
    info = api.request("GET", "/v1.41/containers/checked/json").json()
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert api.request("DELETE", "/v1.41/containers/checked").status == 204


def test_attach_to_a_running_container_gives_it_stdin(api: ApiService) -> None:
    docker_ok(api, "run", "-d", "-i", "--name", "talker", *NONE, "busybox", "sh")
    attached = api.docker("attach", "talker", input="echo through attach\nexit 7\n", timeout=30)
    assert (attached.returncode, attached.stdout) == (7, "through attach\n")
    assert docker_ok(api, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "talker") == "exited 7\n"
    docker_ok(api, "rm", "talker")


# --- the docker Python package -----------------------------------------------------------


def test_docker_py_containers(api: ApiService) -> None:
    client = api.client()
    assert client.containers.run("busybox", ["sh", "-c", "echo py"], remove=True, network_mode="none") == b"py\n"
    made = client.containers.create("busybox", ["sh", "-c", "echo later; sleep 300"], name="pyc",
                                    network_mode="none", labels={"k": "v"}, environment={"A": "1"})
    assert client.containers.get("pyc").status == "created"
    made.start()
    assert [c.name for c in client.containers.list(filters={"label": "k=v"})] == ["pyc"]
    result = made.exec_run(["sh", "-c", "echo $A; echo err >&2; exit 2"], demux=True)
    assert (result.exit_code, result.output) == (2, (b"1\n", b"err\n"))
    deadline = time.monotonic() + 10
    while b"later" not in made.logs() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert made.logs() == b"later\n"
    made.kill()
    assert made.wait() == {"StatusCode": 137, "Error": None}
    made.remove()
    import docker

    with pytest.raises(docker.errors.NotFound):
        client.containers.get("pyc")
    client.close()


# --- bad and hostile input ---------------------------------------------------------------


def test_bad_bodies_and_names_change_nothing(api: ApiService) -> None:
    malformed = api.request("POST", "/v1.41/containers/create", b"{not json")
    assert malformed.status == 400 and "invalid JSON" in malformed.json()["message"]
    wrong_type = api.request("POST", "/v1.41/containers/create", {"Image": "busybox", "Tty": "yes"})
    assert wrong_type.status == 400 and "Tty" in wrong_type.json()["message"]
    for name in ("../escape", "a/../../b", "x/.."):
        refused = api.request("POST", f"/v1.41/containers/create?name={name}", {"Image": "busybox"})
        assert refused.status == 400, (name, refused.body)
    missing_image = api.request("POST", "/v1.41/containers/create", {"Image": "no-such-image:1"})
    assert missing_image.status == 404
    huge = api.request("POST", "/v1.41/containers/create", b'{"Image": "' + b"a" * (17 << 20) + b'"}')
    assert huge.status == 413 and "message" in huge.json()
    assert api.request("GET", "/v1.41/containers/json?all=1").json() == []
    assert api.request("GET", "/v1.41/containers/..%2F..%2Fetc/json").status == 404
    assert api.request("GET", "/v1.41/containers/json?filters=notjson").status == 400
    assert api.request("POST", "/v1.41/containers/x/wait?condition=sometime").status == 400


def test_unknown_fields_are_ignored_and_conflicts_are_409(api: ApiService) -> None:
    made = api.request("POST", "/v1.41/containers/create?name=one",
                       {"Image": "busybox", "Cmd": ["true"], "NoSuchField": {"x": 1},
                        "HostConfig": {"NetworkMode": "none", "Unheard": True}})
    assert made.status == 201 and made.json()["Warnings"] == []
    cid = made.json()["Id"]
    again = api.request("POST", "/v1.41/containers/create?name=one", {"Image": "busybox", "Cmd": ["true"]})
    assert again.status == 409 and "already in use" in again.json()["message"]
    missing = api.request("POST", "/v1.41/containers/nope/start")
    assert (missing.status, missing.json()) == (404, {"message": "No such container: nope"})
    running = api.request("POST", "/v1.41/containers/create?name=two",
                          {"Image": "busybox", "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "none"}})
    two = running.json()["Id"]
    assert api.request("POST", f"/v1.41/containers/{two}/start").status == 204
    assert api.request("POST", f"/v1.41/containers/{two}/start").status == 304
    busy = api.request("DELETE", f"/v1.41/containers/{two}")
    assert busy.status == 409 and busy.json()["message"]
    assert api.request("DELETE", f"/v1.41/containers/{two}?force=1").status == 204
    assert api.request("DELETE", f"/v1.41/containers/{cid}").status == 204


def test_clients_that_disconnect_mid_stream_leave_the_container_running(api: ApiService) -> None:
    made = api.request("POST", "/v1.41/containers/create?name=chatty",
                       {"Image": "busybox", "Cmd": ["sh", "-c", "while :; do echo tick; sleep 0.1; done"],
                        "HostConfig": {"NetworkMode": "none"}})
    cid = made.json()["Id"]
    # attached before the start (docker run's order), then gone
    attached = raw(api, f"POST /v1.41/containers/{cid}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                        "Host: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
    assert read_some(attached, b"\r\n\r\n").startswith(b"HTTP/1.1 101")
    assert api.request("POST", f"/v1.41/containers/{cid}/start").status == 204
    assert b"tick" in read_some(attached, b"tick")
    attached.close()
    follower = raw(api, f"GET /v1.41/containers/{cid}/logs?follow=1&stdout=1 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    read_some(follower, b"tick\n")
    follower.close()
    late = raw(api, f"POST /v1.41/containers/{cid}/attach?stream=1&stdout=1 HTTP/1.1\r\n"
                    "Host: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
    read_some(late, b"tick")
    late.close()
    time.sleep(0.5)
    state = api.request("GET", f"/v1.41/containers/{cid}/json").json()["State"]
    assert state["Running"], state
    assert api.request("DELETE", f"/v1.41/containers/{cid}?force=1").status == 204
    deadline = time.monotonic() + 15
    while service_children(api) and time.monotonic() < deadline:  # the attached start's child ends with it
        time.sleep(0.1)
    assert service_children(api) == []
    assert api.request("GET", "/_ping").status == 200


def test_twenty_concurrent_clients_list(api: ApiService) -> None:
    made = api.request("POST", "/v1.41/containers/create?name=listed", {"Image": "busybox", "Cmd": ["true"]})
    assert made.status == 201
    answers: list[tuple[int, int]] = []

    def one() -> None:
        a = api.request("GET", "/v1.41/containers/json?all=1")
        answers.append((a.status, len(a.json())))

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [(200, 1)] * 20
    assert api.request("DELETE", "/v1.41/containers/listed").status == 204


def test_events_name_the_api_and_the_peer(api: ApiService) -> None:
    made = api.request("POST", "/v1.41/containers/create?name=audited",
                       {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}})
    cid = made.json()["Id"]
    assert api.request("POST", f"/v1.41/containers/{cid}/start").status == 204
    assert api.request("POST", f"/v1.41/containers/{cid}/wait").json()["StatusCode"] == 0
    assert api.request("DELETE", f"/v1.41/containers/{cid}").status == 204
    with sqlite3.connect(api.rt.root / "mydocker.db", timeout=30) as conn:
        rows = conn.execute("SELECT type, actor FROM events WHERE stream_id = ? ORDER BY version", (cid,)).fetchall()
    actors = {etype: json.loads(actor) for etype, actor in rows}
    for etype in ("create", "start", "destroy"):
        assert actors[etype]["via"] == "api", (etype, actors[etype])
        assert actors[etype]["peer"]["pid"] == os.getpid() and actors[etype]["peer"]["uid"] == os.getuid()


def test_socket_activation_and_idle_timeout(api: ApiService, tmp_path) -> None:
    """systemd's way: the socket passed as fd 3 (LISTEN_FDS/LISTEN_PID), served,
    then the service exits by itself once idle for --timeout, leaving systemd's socket."""
    import subprocess
    import sys

    from tests.integration.conftest import MYDOCKER

    path = tmp_path / "activated.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    set_pid = "import os, sys; os.environ['LISTEN_PID'] = str(os.getpid()); os.execv(sys.argv[1], sys.argv[1:])"
    proc = subprocess.Popen(
        [sys.executable, "-c", set_pid, MYDOCKER, "--root", str(api.rt.root), "system", "service",
         "--timeout", "1"], env={**os.environ, **api.rt.env, "LISTEN_FDS": "1"}, pass_fds=(3,),
        preexec_fn=lambda: os.dup2(listener.fileno(), 3), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    listener.close()  # the service holds it now
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(30)
    client.connect(str(path))  # queued in the backlog until the service accepts
    client.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert read_some(client, b"OK").startswith(b"HTTP/1.1 200")
    client.close()
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert path.exists()  # systemd's socket, not ours to remove


def test_restart_pause_rename_update_top_changes_export(api: ApiService) -> None:
    import io
    import tarfile

    made = api.request("POST", "/v1.41/containers/create?name=tool",
                       {"Image": "busybox", "Cmd": ["sh", "-c", "echo x > /made; sleep 300"],
                        "HostConfig": {"NetworkMode": "none"}})
    cid = made.json()["Id"]
    assert api.request("POST", f"/v1.41/containers/{cid}/start").status == 204
    first_pid = api.request("GET", f"/v1.41/containers/{cid}/json").json()["State"]["Pid"]
    assert api.request("POST", f"/v1.41/containers/{cid}/restart?t=0").status == 204
    state = api.request("GET", f"/v1.41/containers/{cid}/json").json()["State"]
    assert state["Running"] and state["Pid"] != first_pid
    assert api.request("POST", f"/v1.41/containers/{cid}/pause").status == 204
    assert api.request("GET", f"/v1.41/containers/{cid}/json").json()["State"]["Paused"]
    assert api.request("POST", f"/v1.41/containers/{cid}/pause").status == 409
    assert api.request("POST", f"/v1.41/containers/{cid}/unpause").status == 204
    assert api.request("POST", f"/v1.41/containers/{cid}/rename?name=renamed").status == 204
    assert api.request("POST", "/v1.41/containers/renamed/rename?name=..%2Fbad").status in (400, 409)
    assert api.request("POST", "/v1.41/containers/renamed/update", {"Memory": 64 << 20}).status == 200
    assert api.request("GET", "/v1.41/containers/renamed/json").json()["HostConfig"]["Memory"] == 64 << 20
    assert api.request("POST", "/v1.41/containers/renamed/update", {"Memory": "x"}).status == 400
    top = api.request("GET", "/v1.41/containers/renamed/top").json()
    assert "CMD" in top["Titles"] and any("sleep 300" in " ".join(p) for p in top["Processes"])
    deadline = time.monotonic() + 10
    changes = []
    while {"Path": "/made", "Kind": 1} not in changes and time.monotonic() < deadline:
        changes = api.request("GET", "/v1.41/containers/renamed/changes").json() or []
        time.sleep(0.1)
    assert {"Path": "/made", "Kind": 1} in changes
    exported = api.request("GET", "/v1.41/containers/renamed/export")
    assert exported.status == 200 and exported.headers["Content-Type"] == "application/x-tar"
    names = tarfile.open(fileobj=io.BytesIO(exported.body)).getnames()
    assert "made" in names or "./made" in names
    assert api.request("POST", "/v1.41/containers/renamed/kill?signal=NOPE").status == 400
    assert api.request("POST", "/v1.41/containers/renamed/kill?signal=SIGKILL").status == 204
    assert api.request("POST", "/v1.41/containers/renamed/wait?condition=not-running").json()["StatusCode"] == 137
    assert api.request("POST", "/v1.41/containers/renamed/kill").status == 409  # not running
    refused = api.request("POST", "/v1.41/containers/renamed/exec", {"Cmd": ["true"]})
    assert refused.status == 409 and refused.json()["message"].endswith(" is not running")
    assert api.request("DELETE", "/v1.41/containers/renamed").status == 204


def test_docker_cp_both_ways_stays_inside_the_container(api: ApiService, tmp_path) -> None:
    import base64

    docker_ok(api, "run", "-d", "--name", "files", *NONE, "busybox", "sh", "-c", "echo inside > /made; sleep 300")
    (tmp_path / "in.txt").write_text("from the host\n")
    deadline = time.monotonic() + 10
    while api.docker("exec", "files", "test", "-e", "/made").returncode and time.monotonic() < deadline:
        time.sleep(0.1)
    docker_ok(api, "cp", "files:/../../made", str(tmp_path / "out"))  # resolved inside the container's root
    assert (tmp_path / "out").read_text() == "inside\n"
    docker_ok(api, "cp", str(tmp_path / "in.txt"), "files:/tmp/")
    assert docker_ok(api, "exec", "files", "cat", "/tmp/in.txt") == "from the host\n"
    head = api.request("HEAD", "/v1.41/containers/files/archive?path=/tmp")
    stat = json.loads(base64.b64decode(head.headers["X-Docker-Container-Path-Stat"]))
    assert head.status == 200 and stat["name"] == "tmp" and stat["mode"] & (1 << 31)
    missing = api.docker("cp", "files:/no/such", str(tmp_path / "x"))
    assert missing.returncode == 1 and "No such container:path" in missing.stderr
    assert api.request("PUT", "/v1.41/containers/files/archive?path=/made", b"not a tar").status >= 400
    docker_ok(api, "rm", "-f", "files")


def test_tcp_only_on_loopback(api: ApiService) -> None:
    import http.client
    import subprocess

    from tests.integration.conftest import MYDOCKER

    refused = api.rt("system", "service", "--listen", "tcp://0.0.0.0:2375")
    assert refused.code != 0 and "loopback" in refused.err and refused.err.startswith("Error: ")
    proc = subprocess.Popen([MYDOCKER, "--root", str(api.rt.root), "system", "service", "--listen",
                             "tcp://127.0.0.1:0", "--timeout", "1"], env={**os.environ, **api.rt.env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "API listening on tcp://127.0.0.1:PORT" once it serves
    port = int(line.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/v1.41/version")
    answer = conn.getresponse()
    assert answer.status == 200 and json.loads(answer.read())["ApiVersion"] == "1.41"
    # a web page: its own name for 127.0.0.1 (DNS rebinding), or a browser's request
    for headers in ({"Host": "attacker.example"}, {"Origin": "http://attacker.example"},
                    {"Sec-Fetch-Mode": "no-cors"}):
        conn.request("POST", "/v1.41/containers/create?name=csrf", body='{"Image": "busybox"}',
                     headers={"Content-Type": "application/json", **headers})
        answer = conn.getresponse()
        assert answer.status == 403 and "refused" in json.loads(answer.read())["message"], headers
    conn.close()
    assert proc.wait(timeout=30) == 0  # idle for --timeout: gone by itself
    assert api.rt("inspect", "csrf").code == 1, "nothing was made"
    regular = api.rt.root.parent / "not-a-socket"
    regular.write_text("keep me")
    taken = api.rt("system", "service", "--listen", f"unix://{regular}")
    assert taken.code != 0 and "not a socket" in taken.err and regular.read_text() == "keep me"
