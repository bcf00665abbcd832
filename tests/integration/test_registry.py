"""pull, push, login, logout against a real docker-registry (and skopeo as an
independent client), on 127.0.0.1 only."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.integration.registry_server import Front, Layout, Registry, tar_of

BUSYBOX = shutil.which("busybox") or "/bin/busybox"

if not shutil.which("docker-registry") or not shutil.which("skopeo"):
    pytest.skip("docker-registry and skopeo are installed by `make test`", allow_module_level=True)


@pytest.fixture
def registry(md, tmp_path: Path):
    reg = Registry(tmp_path / "registry")
    md.env["DOCKER_CONFIG"] = str(tmp_path / "dockercfg")
    yield reg
    reg.stop()


def busybox_tar(*extra: tuple[str, str]) -> bytes:
    files: dict[str, bytes | str] = {"bin/busybox": Path(BUSYBOX).read_bytes()}
    files.update(dict(extra))
    return tar_of(files, symlinks={f"bin/{a}": "busybox" for a in ("sh", "cat", "echo", "ls", "test", "uname")},
                  dirs=["bin", "etc", "tmp"])


def layers_on_disk(md) -> set[str]:
    layers = md.root / "layers"
    return {p.name for p in layers.iterdir() if p.is_dir() and not p.name.startswith(".")} if layers.exists() else set()


def test_push_then_pull_runs_and_records_where_it_came_from(md, registry):
    name = f"{registry.host}/me/bb:1"
    md.ok("tag", "busybox", name)
    out = md.ok("push", name)
    assert out.splitlines()[0] == f"The push refers to repository [{registry.host}/me/bb]"
    assert out.splitlines()[-1].startswith("1: digest: sha256:")
    digest = out.split("digest: ")[1].split()[0]
    assert "Layer already exists" in md.ok("push", name)
    md.ok("rmi", name)
    md.ok("rmi", "busybox")
    assert layers_on_disk(md) == set()
    out = md.ok("pull", name)
    lines = out.splitlines()
    assert lines[0] == "1: Pulling from me/bb"
    assert any(line.endswith(": Pulling fs layer") for line in lines)
    assert any(line.endswith(": Verifying Checksum") for line in lines)
    assert any(line.endswith(": Pull complete") for line in lines)
    assert f"Digest: {digest}" in lines
    assert f"Status: Downloaded newer image for {name}" in lines
    assert lines[-1] == name
    again = md.ok("pull", name).splitlines()
    assert again == ["1: Pulling from me/bb", f"Digest: {digest}", f"Status: Image is up to date for {name}", name]
    assert md.ok("pull", "-q", name) == f"{name}\n"
    assert md.ok("run", "--rm", "--network", "none", name, "echo", "hi") == "hi\n"
    digests = md.ok("images", "--digests").splitlines()
    assert digests[0].split()[:3] == ["REPOSITORY", "TAG", "DIGEST"]
    assert any(line.split()[:3] == [f"{registry.host}/me/bb", "1", digest] for line in digests)
    assert md.inspect(name)["RepoDigests"] == [f"{registry.host}/me/bb@{digest}"]
    listed = md.ok("events", "--until", "0s", "--filter", "type=image", "--format", "json")
    events = [json.loads(x) for x in listed.splitlines()]
    pulls = [e for e in events if e["Action"] == "pull"]
    assert pulls and all(e["Actor"]["Attributes"]["digest"] == digest for e in pulls)
    assert pulls[0]["Actor"]["Attributes"]["reference"] == name
    assert [e["Action"] for e in events].count("push") == 2
    assert "tag" in [e["Action"] for e in events] and "delete" in [e["Action"] for e in events]
    md.ok("replay", "--check")


def test_pull_by_digest_and_default_tag_output(md, registry):
    name = f"{registry.host}/me/bb"
    md.ok("tag", "busybox", name)
    digest = md.ok("push", name).split("digest: ")[1].split()[0]
    md.ok("rmi", name)
    out = md.ok("pull", f"{name}@{digest}").splitlines()
    assert out[0] == f"{digest}: Pulling from me/bb"
    assert out[-1] == f"{name}@{digest}"
    assert "Using default tag: latest" in md.ok("pull", name)


def test_oci_index_picks_platform_zstd_and_shared_layers(md, registry, tmp_path):
    layout = Layout(tmp_path / "layout")
    base = busybox_tar()
    amd = layout.image([base, tar_of({"etc/arch": "amd64\n"})], compression=["gzip", "zstd"], arch="amd64")
    arm = layout.image([base, tar_of({"etc/arch": "arm64\n"})], arch="arm64")
    layout.tag_index("multi", [amd, arm])
    layout.tag("plain", layout.image([base, tar_of({"etc/app": "two\n"})], compression=["gzip", "none"]))
    layout.copy("multi", registry.host, "lib/multi:1", all_platforms=True)
    layout.copy("plain", registry.host, "lib/plain:1")

    md.ok("pull", f"{registry.host}/lib/multi:1")
    image = f"{registry.host}/lib/multi:1"
    assert md.ok("run", "--rm", "--network", "none", image, "cat", "/etc/arch") == "amd64\n"  # the zstd layer
    out = md.ok("pull", f"{registry.host}/lib/plain:1")
    assert out.count("Already exists") == 1  # the busybox layer, stored once
    assert md.ok("run", "--rm", "--network", "none", f"{registry.host}/lib/plain:1", "cat", "/etc/app") == "two\n"
    assert len(layers_on_disk(md)) == 3

    arm_name = f"{registry.host}/lib/multi:1"
    md.ok("rmi", arm_name)
    md.ok("pull", "--platform", "linux/arm64", arm_name)
    with md.db() as conn:
        row = conn.execute("SELECT config FROM images WHERE tags LIKE ?", (f"%{arm_name}%",)).fetchone()
    config = json.loads(row[0])
    assert config["architecture"] == "arm64"
    bad = md("pull", "--platform", "linux/s390x", arm_name)
    assert bad.code == 1
    assert bad.err == "Error: no matching manifest for linux/s390x in the manifest list entries\n"

    md.ok("rmi", arm_name)
    assert len(layers_on_disk(md)) == 2  # plain still holds the shared busybox layer
    md.ok("rmi", f"{registry.host}/lib/plain:1")
    assert layers_on_disk(md) == set()
    assert not [p for p in (md.root / "layers").iterdir()]  # no blob left either


def test_save_of_a_pulled_image_loads_elsewhere(md, registry, tmp_path):
    layout = Layout(tmp_path / "layout")
    layout.tag("v", layout.image([busybox_tar(("etc/motd", "saved\n"))], compression=["zstd"]))
    layout.copy("v", registry.host, "lib/saved:v")
    name = f"{registry.host}/lib/saved:v"
    md.ok("pull", name)
    archive = tmp_path / "out.tar"
    md.ok("save", "-o", str(archive), name)
    md.ok("rmi", name)
    md.ok("load", "-i", str(archive))
    assert md.ok("run", "--rm", "--network", "none", name, "cat", "/etc/motd") == "saved\n"


def test_run_pulls_when_missing_and_honours_pull_never(md, registry):
    name = f"{registry.host}/me/auto:1"
    md.ok("tag", "busybox", name)
    md.ok("push", name)
    md.ok("rmi", name)
    never = md("run", "--rm", "--pull", "never", "--network", "none", name, "true")
    assert never.code == 125 and "Unable to find image" in never.err and "Pulling" not in never.err
    result = md("run", "--rm", "--network", "none", name, "echo", "ran")
    assert result.code == 0, result.err
    assert result.out == "ran\n"
    assert f"Unable to find image '{name}' locally" in result.err
    again = md("run", "--rm", "--network", "none", name, "echo", "ran")
    assert "Unable to find" not in again.err
    always = md("run", "--rm", "--pull", "always", "--network", "none", name, "true")
    assert always.code == 0 and "Status: Image is up to date" in always.err
    missing = md("run", "--rm", "--network", "none", f"{registry.host}/me/none:1", "true")
    assert missing.code == 125
    assert missing.err.splitlines()[-1] == \
        f"Error: manifest for {registry.host}/me/none:1 not found: manifest unknown: manifest unknown"
    created = md("create", "--network", "none", f"{registry.host}/me/none:2")
    assert created.code == 125


def test_basic_auth_login_logout_in_dockers_config(md, tmp_path):
    reg = Registry(tmp_path / "authreg", users={"me": "s3cret"})
    md.env["DOCKER_CONFIG"] = str(tmp_path / "dockercfg")
    config = tmp_path / "dockercfg" / "config.json"
    try:
        name = f"{reg.host}/me/private:1"
        md.ok("tag", "busybox", name)
        denied = md("push", name)
        assert denied.code == 1 and "unauthorized" in denied.err, denied.err
        wrong = md("login", "-u", "me", "--password-stdin", reg.host, input="nope\n")
        assert wrong.code == 1
        assert wrong.err == f'Error: Get "http://{reg.host}/v2/": unauthorized: authentication required\n'
        assert not config.exists()
        config.parent.mkdir()
        config.write_text(json.dumps({"auths": {}, "credHelpers": {"x.example": "pass"}}))
        out = md.ok("login", "-u", "me", "--password-stdin", reg.host, input="s3cret\n")
        assert out == "Login Succeeded\n"
        data = json.loads(config.read_text())
        assert base64.b64decode(data["auths"][reg.host]["auth"]) == b"me:s3cret"
        assert data["credHelpers"] == {"x.example": "pass"}  # docker's other keys stay
        assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
        md.ok("push", name)
        md.ok("rmi", name)
        md.ok("pull", name)
        assert md.ok("logout", reg.host) == f"Removing login credentials for {reg.host}\n"
        assert reg.host not in json.loads(config.read_text())["auths"]
        assert md.ok("logout", reg.host) == f"Not logged in to {reg.host}\n"
        md.ok("rmi", name)
        anonymous = md("pull", name)
        assert anonymous.code == 1
        assert anonymous.err.startswith(f"Error: pull access denied for {reg.host}/me/private, repository does not "
                                        "exist or may require 'docker login'")
        assert md("login", "--password-stdin", reg.host, input="x\n").code == 125
    finally:
        reg.stop()


def test_bearer_token_flow(md, registry):
    front = Front(registry, token=True, users={"me": "tok"})
    try:
        name = f"{front.host}/me/app:1"
        md.ok("tag", "busybox", name)
        assert md("login", "-u", "me", "--password-stdin", front.host, input="bad\n").code == 1
        md.ok("login", "-u", "me", "--password-stdin", front.host, input="tok\n")
        md.ok("push", name)
        md.ok("rmi", name)
        md.ok("pull", name)
        scopes = [r.get("scope") for r in front.token_requests]
        assert "repository:me/app:pull,push" in scopes and "repository:me/app:pull" in scopes
        assert all(r.get("service") == "test-registry" for r in front.token_requests)
        assert any(r.get("account") == "me" for r in front.token_requests)
        md.ok("logout", front.host)
        md.ok("rmi", name)
        md.ok("pull", name)  # anonymous tokens may pull here
    finally:
        front.stop()


def test_commit_of_a_pulled_zstd_image_pushes_and_pulls_into_another_root(md, registry, tmp_path):
    from tests.integration.conftest import Runtime

    layout = Layout(tmp_path / "layout")
    layout.tag("z", layout.image([busybox_tar()], compression=["zstd"]))
    layout.copy("z", registry.host, "lib/z:1")
    md.ok("pull", f"{registry.host}/lib/z:1")
    md.ok("run", "--name", "c1", "--network", "none", f"{registry.host}/lib/z:1", "sh", "-c", "echo made > /etc/made")
    target = f"{registry.host}/lib/made:1"
    md.ok("commit", "c1", target)
    md.ok("rm", "c1")
    out = md.ok("push", target)
    assert out.count("Mounted from lib/z") == 1 and out.count("Pushed") == 1  # the zstd layer is the same blob
    assert "Layer already exists" in md.ok("push", target)
    other = Runtime(tmp_path / "other-root")
    other.env["DOCKER_CONFIG"] = md.env["DOCKER_CONFIG"]
    try:
        assert other.ok("run", "--rm", "--network", "none", target, "cat", "/etc/made") == "made\n"
    finally:
        shutil.rmtree(other.root, ignore_errors=True)


def test_progress_on_a_terminal_rewrites_lines_with_a_bar(md, registry):
    from tests.integration.conftest import PtySession

    name = f"{registry.host}/me/tty:1"
    md.ok("tag", "busybox", name)
    md.ok("push", name)
    md.ok("rmi", name)
    md.ok("rmi", "busybox")
    session = PtySession(md.root, "pull", name)
    session.read_until(f"Status: Downloaded newer image for {name}".encode())
    assert session.exit_code() == 0
    assert b": Downloading [" in session.output
    assert b"\x1b[1A" in session.output  # a layer's line rewritten in place
    assert b": Pull complete" in session.output


@pytest.mark.skipif(not shutil.which("docker"), reason="the docker CLI is not installed")
def test_docker_cli_reads_our_login_and_we_read_its(md, registry, tmp_path):
    import subprocess

    env = {**os.environ, "DOCKER_CONFIG": md.env["DOCKER_CONFIG"]}
    md.ok("login", "-u", "me", "--password-stdin", registry.host, input="pw\n")
    out = subprocess.run(["docker", "logout", registry.host], env=env, capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == f"Removing login credentials for {registry.host}"
    subprocess.run(["docker", "login", "-u", "you", "--password-stdin", registry.host], input="pw2\n", env=env,
                   capture_output=True, text=True, timeout=30, check=True)
    assert md.ok("logout", registry.host) == f"Removing login credentials for {registry.host}\n"
