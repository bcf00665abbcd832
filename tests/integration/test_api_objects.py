"""The Engine API's images, networks, volumes, events, info and df, driven by real
clients: the docker CLI (20.10), the docker Python package, docker-compose 1.29
and raw HTTP, on one service over a checked temp root for the whole module.

Network traffic stays between the host and containers this module made, on a
subnet and a loopback port it picked."""

from __future__ import annotations

import base64
import io
import json
import os
import select
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import IO

import pytest

from tests.integration.api_service import DOCKER_CLI, ApiService, serve_api
from tests.integration.conftest import free_subnet
from tests.integration.registry_server import Registry, free_port


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    yield from serve_api(tmp_path_factory, "objects")


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _env(api: ApiService) -> dict[str, str]:
    """What api.docker runs with: our socket, a docker config dir of the test's own."""
    env = {**os.environ, "DOCKER_HOST": api.host, "DOCKER_CONFIG": str(api.rt.root.parent / "docker-config")}
    env.pop("DOCKER_CONTEXT", None)
    return env


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args} -> {result.returncode}: {result.stderr}"
    return result.stdout


def test_networks_through_the_docker_cli(api: ApiService) -> None:
    subnet = free_subnet()
    net_id = _ok(api.docker("network", "create", "--subnet", subnet, "--label", "team=blue", "blue")).strip()
    try:
        assert _ok(api.docker("network", "ls", "-q", "--no-trunc", "--filter", "label=team=blue")).split() == [net_id]
        assert _ok(api.docker("network", "ls", "-q", "--filter", "label=team=red")) == ""
        info = json.loads(_ok(api.docker("network", "inspect", "blue")))[0]
        assert info["Labels"] == {"team": "blue"} and info["IPAM"]["Config"][0]["Subnet"] == subnet
        again = api.docker("network", "create", "blue")
        assert again.returncode == 1 and "already exists" in again.stderr

        api.rt.ok("create", "--name", "joiner", "--network", "none", "busybox", "true")
        refused = api.docker("network", "connect", "blue", "joiner")
        assert refused.returncode == 1 and "private (none) mode" in refused.stderr
        api.rt.ok("run", "-d", "--name", "member", "busybox", "sleep", "1000")
        _ok(api.docker("network", "disconnect", "bridge", "member"))
        _ok(api.docker("network", "connect", "--alias", "db", "blue", "member"))
        members = json.loads(_ok(api.docker("network", "inspect", "blue")))[0]["Containers"]
        assert [m["Name"] for m in members.values()] == ["member"]
        assert "db" in api.rt.inspect("member")["NetworkSettings"]["Networks"]["blue"]["Aliases"]
        # several endpoints at create (docker-py, compose v2): NetworkMode's is the first, the others besides
        both = api.request("POST", "/v1.41/containers/create?name=both", {
            "Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "blue"},
            "NetworkingConfig": {"EndpointsConfig": {"bridge": {}, "blue": {"Aliases": ["b1"]}}}})
        assert both.status == 201, both.json()
        joined = api.rt.inspect("both")["NetworkSettings"]["Networks"]
        assert list(joined) == ["blue", "bridge"] and "b1" in joined["blue"]["Aliases"]
        api.rt.ok("rm", "both")
        assert api.request("GET", "/v1.41/networks/host").json()["Driver"] == "host"
        busy = api.docker("network", "rm", "blue")
        assert busy.returncode == 1 and "active endpoints" in busy.stderr
        _ok(api.docker("network", "disconnect", "blue", "member"))
        assert json.loads(_ok(api.docker("network", "inspect", "blue")))[0]["Containers"] == {}
    finally:
        api.rt("rm", "-f", "member", "joiner")
    _ok(api.docker("network", "rm", "blue"))
    missing = api.docker("network", "inspect", "blue")
    assert missing.returncode == 1 and "No such network: blue" in missing.stderr
    predefined = api.request("DELETE", "/v1.41/networks/bridge")
    assert predefined.status == 403 and "pre-defined" in predefined.json()["message"]


def test_volumes_through_the_docker_cli_and_bad_input(api: ApiService) -> None:
    _ok(api.docker("volume", "create", "--label", "keep=yes", "kept"))
    _ok(api.docker("volume", "create", "scratch"))
    assert _ok(api.docker("volume", "ls", "-q", "--filter", "label=keep")).split() == ["kept"]
    info = json.loads(_ok(api.docker("volume", "inspect", "kept")))[0]
    assert info["Labels"] == {"keep": "yes"} and info["Driver"] == "local"
    api.rt.ok("create", "--name", "user", "-v", "kept:/data", "busybox", "true")
    busy = api.docker("volume", "rm", "kept")
    assert busy.returncode == 1 and "volume is in use" in busy.stderr
    assert api.request("DELETE", "/v1.41/volumes/kept").status == 409
    # prune takes what no container uses, and only what the filter keeps
    _ok(api.docker("volume", "prune", "-f", "--filter", "label=keep"))
    assert sorted(_ok(api.docker("volume", "ls", "-q")).split()) == ["kept", "scratch"]
    assert "scratch" in _ok(api.docker("volume", "prune", "-f"))
    api.rt.ok("rm", "user")
    _ok(api.docker("volume", "rm", "kept"))
    assert api.request("GET", "/v1.41/volumes").json() == {"Volumes": [], "Warnings": []}

    bad = api.request("POST", "/v1.41/volumes/create", b"{not json")
    assert bad.status == 400 and "invalid JSON" in bad.json()["message"]
    traversal = api.request("POST", "/v1.41/volumes/create", {"Name": "../../etc"})
    assert traversal.status == 400
    assert api.request("GET", "/v1.41/volumes/..%2F..%2Fetc").status == 404
    assert api.request("GET", "/v1.41/volumes?filters=" + '{"color":["red"]}').status == 400
    assert api.request("POST", "/v1.41/networks/create", {"Name": "x", "IPAM": {"Config": "no"}}).status == 400
    assert api.request("GET", "/v1.41/volumes").json() == {"Volumes": [], "Warnings": []}, "nothing was made"


def test_images_through_the_docker_cli(api: ApiService, tmp_path: Path) -> None:
    assert "busybox" in _ok(api.docker("images", "--format", "{{.Repository}}:{{.Tag}}"))
    _ok(api.docker("tag", "busybox", "team/tool:1"))
    assert _ok(api.docker("images", "-q", "--filter", "reference=team/*")).split() == \
        _ok(api.docker("images", "-q", "busybox")).split()
    inspected = json.loads(_ok(api.docker("image", "inspect", "team/tool:1")))[0]
    assert "team/tool:1" in inspected["RepoTags"]
    assert _ok(api.docker("history", "-q", "team/tool:1")).split()
    archive = tmp_path / "tool.tar"
    _ok(api.docker("save", "-o", str(archive), "team/tool:1"))
    assert "Untagged: team/tool:1" in _ok(api.docker("rmi", "team/tool:1"))
    assert "Loaded image: team/tool:1" in _ok(api.docker("load", "-i", str(archive)))
    _ok(api.docker("rmi", "team/tool:1"))
    # hostile archives: a path out of the layer is refused, nothing is stored or written
    before = api.request("GET", "/v1.41/images/json").json()
    evil = _tar({"../../escaped-by-api": b"x"})
    loaded = api.request("POST", "/v1.41/images/load", _tar({"manifest.json": json.dumps(
        [{"Config": "c.json", "RepoTags": ["evil:1"], "Layers": ["l/layer.tar"]}]).encode(),
        "c.json": b"{}", "l/layer.tar": evil}), headers={"Content-Type": "application/x-tar"})
    assert loaded.status == 400, loaded.body
    imported = api.request("POST", "/v1.41/images/create?fromSrc=-&repo=evil&tag=2", evil,
                           headers={"Content-Type": "application/x-tar"})
    assert imported.status == 400 and "escaped-by-api" in imported.json()["message"], imported.body
    assert api.request("GET", "/v1.41/images/json").json() == before
    assert not list(api.rt.root.parent.parent.glob("**/escaped-by-api"))
    missing = api.docker("rmi", "nope")
    assert missing.returncode == 1 and "No such image: nope" in missing.stderr
    assert api.request("GET", "/v1.41/images/nope/json").status == 404


def test_pull_streams_progress_and_takes_credentials_from_the_header(api: ApiService, tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry", users={"ann": "secret"})
    try:
        ref = f"{registry.host}/team/pulled"
        config = tmp_path / "mydocker-config"
        env = {"DOCKER_CONFIG": str(config)}
        api.rt.ok("login", registry.host, "-u", "ann", "--password-stdin", input="secret", env=env)
        api.rt.ok("tag", "busybox", f"{ref}:1")
        api.rt.ok("push", f"{ref}:1", env=env)
        api.rt.ok("rmi", f"{ref}:1")

        # the service has no credentials of its own: without the header, docker's 404 words
        denied = api.request("POST", f"/v1.41/images/create?fromImage={ref}&tag=1")
        assert denied.status == 404 and "pull access denied" in denied.json()["message"]
        client = api.client()
        lines = list(client.api.pull(ref, tag="1", stream=True, decode=True,
                                     auth_config={"username": "ann", "password": "secret"}))
        assert lines[0] == {"status": "Pulling from team/pulled", "id": "1"}
        assert lines[-1]["status"] == f"Status: Downloaded newer image for {ref}:1"
        assert any(line["status"].startswith("Digest: sha256:") for line in lines)
        assert f"{ref}:1" in client.images.get(f"{ref}:1").tags

        # the docker CLI sends its config.json's credentials in X-Registry-Auth too
        cli_config = api.rt.root.parent / "docker-config"
        cli_config.mkdir(exist_ok=True)
        token = base64.b64encode(b"ann:secret").decode()
        (cli_config / "config.json").write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
        out = _ok(api.docker("pull", f"{ref}:1"))
        assert f"Status: Image is up to date for {ref}:1" in out
        client.images.remove(f"{ref}:1")
        client.close()
    finally:
        registry.stop()


def test_objects_through_the_docker_python_package(api: ApiService) -> None:
    import docker

    client = api.client()
    subnet = free_subnet()
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
    network = client.networks.create("pynet", driver="bridge", ipam=ipam, labels={"via": "py"})
    try:
        assert [n.name for n in client.networks.list(filters={"label": "via=py"})] == ["pynet"]
        assert client.networks.get("pynet").attrs["IPAM"]["Config"][0]["Subnet"] == subnet
        with pytest.raises(docker.errors.NotFound):
            client.networks.get("nonet")
        api.rt.ok("create", "--name", "pyc", "busybox", "true")
        client.api.disconnect_container_from_network("pyc", "bridge")
        network.connect("pyc", aliases=["svc"])
        network.reload()
        assert api.rt.inspect("pyc")["HostConfig"]["NetworkMode"] == "pynet"
        network.disconnect("pyc")
        api.rt.ok("rm", "pyc")
    finally:
        network.remove()
    assert client.networks.prune(filters={"label": "via=py"}) == {"NetworksDeleted": None}

    volume = client.volumes.create("pyvol", labels={"via": "py"})
    assert [v.name for v in client.volumes.list(filters={"label": "via=py"})] == ["pyvol"]
    assert client.volumes.get("pyvol").attrs["Labels"] == {"via": "py"}
    volume.remove()
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get("pyvol")

    image = client.images.get("busybox")
    assert image.tag("py/box", "2")
    assert "py/box:2" in client.images.get("py/box:2").tags
    assert any("py/box:2" in i.tags for i in client.images.list(filters={"reference": "py/*"}))
    client.images.remove("py/box:2")
    assert client.df()["Images"] and client.info()["ServerVersion"]
    client.close()


def test_events_since_until_and_following(api: ApiService) -> None:
    start = time.time()
    _ok(api.docker("volume", "create", "evvol"))
    _ok(api.docker("volume", "rm", "evvol"))
    end = time.time() + 1
    out = _ok(api.docker("events", "--since", f"{start:.3f}", "--until", f"{end:.3f}", "--filter", "type=volume",
                         "--format", "{{.Type}} {{.Action}} {{.Actor.ID}}"))
    assert out.splitlines() == ["volume create evvol", "volume destroy evvol"]
    raw = api.request("GET", f"/v1.41/events?since={start}&until={end}&filters=" + '{"type":["volume"]}')
    first = json.loads(raw.body.splitlines()[0])
    assert first["Type"] == "volume" and first["Action"] == "create" and first["timeNano"] >= int(start) * 10**9
    assert api.request("GET", "/v1.41/events?filters=" + '{"colour":["x"]}').status == 400

    # docker's container attributes carry its labels, and label= filters on them (compose's way)
    cid = api.rt.ok("create", "--name", "evc", "--label", "tier=ev", "--network", "none", "busybox", "true").strip()
    api.rt.ok("rm", "evc")
    labelled = _ok(api.docker("events", "--since", f"{start:.3f}", "--until", f"{time.time() + 1:.3f}",
                              "--filter", "label=tier=ev", "--format",
                              "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Actor.Attributes.tier}}"))
    assert labelled.splitlines()[0] == f"create {cid} evc ev"
    assert labelled.splitlines()[-1] == f"destroy {cid} evc ev"

    # without --until it follows the log as it grows
    follower = subprocess.Popen([DOCKER_CLI, "events", "--filter", "type=volume", "--format",
                                 "{{.Action}} {{.Actor.ID}}"], env=_env(api), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the stream is up once the server has answered
            _ok(api.docker("volume", "create", "later"))
            _ok(api.docker("volume", "rm", "later"))
            assert follower.stdout is not None
            # a follower that subscribed after this round's events must not block
            # the loop on readline: wait for a line only so long, then make more
            if _line_within(follower.stdout, 3.0) == "create later":
                break
        else:
            pytest.fail("docker events never showed the new volume")
    finally:
        follower.kill()
        follower.wait()


def _line_within(stream: IO[str], seconds: float) -> str | None:
    """The next line of a pipe, or None when none arrives within seconds."""
    ready, _, _ = select.select([stream], [], [], seconds)
    return stream.readline().strip() if ready else None


def test_info_and_system_df(api: ApiService) -> None:
    info = _ok(api.docker("info", "--format", "{{.ServerVersion}} {{.OSType}} {{.Images}}"))
    version, ostype, count = info.split()
    assert ostype == "linux" and int(count) >= 1 and version
    df = _ok(api.docker("system", "df", "--format", "{{.Type}} {{.TotalCount}}"))
    assert "Images" in df and "Local Volumes 0" in df


COMPOSE = """\
version: "3.8"
services:
  web:
    image: busybox
    command: ["sh", "-c", "cp /src/index.html /www/ && exec httpd -f -p 80 -h /www"]
    volumes: ["www:/www", "./site:/src:ro"]
    ports: ["127.0.0.1:{port}:80"]
    networks: [front, back]
  client:
    image: busybox
    command: ["sh", "-c", "while true; do wget -q -O - http://web/index.html; sleep 1; done"]
    networks: [front]
    depends_on: [web]
  backclient:  # on the second network of web only: compose creates on one, connects the other
    image: busybox
    command: ["sh", "-c", "while true; do wget -q -O - http://web/index.html; sleep 1; done"]
    networks: [back]
    depends_on: [web]
volumes:
  www: {{}}
networks:
  front:
    ipam:
      config: [{{subnet: "{subnet}"}}]
  back:
    ipam:
      config: [{{subnet: "{subnet2}"}}]
"""


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_up_ps_logs_down(api: ApiService, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("served from a named volume\n")
    (tmp_path / "docker-compose.yml").write_text(COMPOSE.format(port=port, subnet=free_subnet(),
                                                                subnet2=free_subnet()))

    def compose(*args: str) -> str:
        result = subprocess.run(["docker-compose", "-p", "mdtest", *args], cwd=tmp_path, env=_env(api),
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"docker-compose {' '.join(args)}: {result.stderr}"
        return result.stdout

    compose("up", "-d")
    try:
        ps = compose("ps")
        assert "mdtest_web_1" in ps and "mdtest_client_1" in ps and f"127.0.0.1:{port}->80/tcp" in ps
        page = ""
        for _ in range(100):  # httpd starts right after the copy
            page = subprocess.run(["curl", "-s", "--max-time", "2", f"http://127.0.0.1:{port}/index.html"],
                                  capture_output=True, text=True).stdout
            if page:
                break
            time.sleep(0.1)
        assert page == "served from a named volume\n"
        for client in ("client", "backclient"):  # web by its service name, on each of its networks
            logs = ""
            for _ in range(100):
                logs = compose("logs", client)
                if "served from a named volume" in logs:
                    break
                time.sleep(0.2)
            assert "served from a named volume" in logs, client
        labels = api.rt.inspect("mdtest_web_1")["Config"]["Labels"]
        assert labels["com.docker.compose.project"] == "mdtest" and labels["com.docker.compose.service"] == "web"
    finally:
        compose("down", "-v", "-t", "1")  # busybox as pid 1 ignores SIGTERM: do not wait 10 s
    assert api.rt.ok("ps", "-aq") == ""
    assert "mdtest_www" not in api.rt.ok("volume", "ls", "-q")
    assert "mdtest_front" not in api.rt.ok("network", "ls")
