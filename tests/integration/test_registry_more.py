"""Warm pulls (one HEAD), pull -a / push -a, and the manifests a push writes
(docker schema 2 as docker 20.10, or the pulled manifest byte for byte), against
one real docker-registry for the module, on 127.0.0.1 only."""

from __future__ import annotations

import shutil

import pytest
import requests

from tests.integration.registry_server import Front, Layout, Registry, tar_of

if not shutil.which("docker-registry") or not shutil.which("skopeo"):
    pytest.skip("docker-registry and skopeo are installed by `make test`", allow_module_level=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("regmore")
    reg = Registry(base / "registry")
    front = Front(reg)
    yield reg, front, base
    front.stop()
    reg.stop()


@pytest.fixture
def registry(served, md, md2):
    reg, front, base = served
    md.env["DOCKER_CONFIG"] = md2.env["DOCKER_CONFIG"] = str(base / "dockercfg")
    return reg, front, base


def manifest_of(host: str, repo: str, tag: str) -> requests.Response:
    accept = ", ".join(["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json",
                        "application/vnd.docker.distribution.manifest.v2+json"])
    response = requests.get(f"http://{host}/v2/{repo}/manifests/{tag}", headers={"Accept": accept}, timeout=30)
    assert response.status_code == 200
    return response


def test_warm_pull_is_one_head_and_a_moved_tag_is_pulled_again(md, registry) -> None:
    reg, front, base = registry
    name = f"{front.host}/warm/bb:1"
    md.ok("tag", "busybox", name)
    md.ok("push", name)
    md.ok("rmi", name)
    md.ok("pull", name)
    with front.lock:
        front.requests.clear()
    out = md.ok("pull", name).splitlines()
    assert out[-2] == f"Status: Image is up to date for {name}"
    assert front.requests == [("HEAD", "/v2/warm/bb/manifests/1")]
    # and without loading the HTTP stack a full pull needs (its import is most of a warm pull's time)
    timed = md("pull", name, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert timed.code == 0 and "Image is up to date" in timed.out
    imported = {line.split("|")[-1].strip() for line in timed.err.splitlines() if line.startswith("import time:")}
    assert "mydocker.statemachine.pull_uptodate" in imported and "requests" not in imported
    pulls = md.ok("events", "--until", "0s", "--filter", "type=image", "--filter", "event=pull", "--format",
                  "{{.Actor.Attributes.digest}}").split()
    assert len(pulls) == 3 and len(set(pulls)) == 1  # a warm pull is an event too

    # the tag now names another image: the HEAD's digest differs, the pull downloads it
    layout = Layout(base / "warm-layout")
    layout.tag("other", layout.image([tar_of({"etc/other": "2\n"})]))
    layout.copy("other", reg.host, "warm/bb:1")
    out = md.ok("pull", name).splitlines()
    assert out[-2] == f"Status: Downloaded newer image for {name}"
    assert ("GET", "/v2/warm/bb/manifests/1") in front.requests
    md.ok("rmi", name)
    md.ok("rmi", "busybox")


def test_push_all_tags_then_pull_all_tags_elsewhere(md, md2, registry) -> None:
    reg, front, base = registry
    repo = f"{reg.host}/all/app"
    (base / "three.tar").write_bytes(tar_of({"etc/three": "3\n"}))
    md.ok("tag", "busybox", f"{repo}:1")
    md.ok("tag", "busybox", f"{repo}:2")
    md.ok("import", str(base / "three.tar"), f"{repo}:3")
    bad = md("push", "-a", f"{repo}:1")
    assert (bad.code, bad.err) == (1, "Error: tag can't be used with --all-tags/-a\n")
    out = md.ok("push", "-a", repo).splitlines()
    assert out.count(f"The push refers to repository [{repo}]") == 1
    assert [line.split(":")[0] for line in out if ": digest: sha256:" in line] == ["1", "2", "3"]

    assert md2("pull", "-a", f"{repo}:1").err == "Error: tag can't be used with --all-tags/-a\n"
    out = md2.ok("pull", "-a", repo).splitlines()
    assert [line for line in out if "Pulling from" in line] == [f"{t}: Pulling from all/app" for t in "123"]
    assert out[-2:] == [f"Status: Downloaded newer image for {repo}", repo]
    assert sorted(md2.ok("images", "--format", "{{.Tag}}", repo).split()) == ["1", "2", "3"]
    again = md2.ok("pull", "-a", repo).splitlines()
    assert again[-2] == f"Status: Image is up to date for {repo}"
    for t in "123":
        md.ok("rmi", f"{repo}:{t}")
        md2.ok("rmi", f"{repo}:{t}")
    md.ok("rmi", "busybox")


def test_push_writes_docker_schema2_and_keeps_pulled_manifests_byte_for_byte(md, md2, registry) -> None:
    reg, front, base = registry
    name = f"{reg.host}/mf/bb:1"
    md.ok("tag", "busybox", name)
    pushed = md.ok("push", name).split("digest: ")[1].split()[0]
    response = manifest_of(reg.host, "mf/bb", "1")
    # what docker 20.10 writes for an image of its own: schema 2, Go's three-space indent
    assert response.headers["Content-Type"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert response.content.startswith(b'{\n   "schemaVersion": 2,\n   "mediaType": ')
    assert response.json()["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert {x["mediaType"] for x in response.json()["layers"]} == {
        "application/vnd.docker.image.rootfs.diff.tar.gzip"}

    # pulled elsewhere and pushed on under another name: the same digest
    md2.ok("pull", name)
    md2.ok("tag", name, f"{reg.host}/mf/copy:1")
    assert md2.ok("push", f"{reg.host}/mf/copy:1").split("digest: ")[1].split()[0] == pushed

    # an image that came as OCI (skopeo's) goes back as the same OCI manifest
    layout = Layout(base / "mf-layout")
    layout.tag("oci", layout.image([tar_of({"etc/oci": "yes\n"})], compression=["zstd"]))
    layout.copy("oci", reg.host, "mf/oci:1")
    original = manifest_of(reg.host, "mf/oci", "1")
    digest = md.ok("pull", f"{reg.host}/mf/oci:1").split("Digest: ")[1].split()[0]
    md.ok("tag", f"{reg.host}/mf/oci:1", f"{reg.host}/mf/oci2:1")
    again = md.ok("push", f"{reg.host}/mf/oci2:1").split("digest: ")[1].split()[0]
    assert again == digest == original.headers["Docker-Content-Digest"]
    assert manifest_of(reg.host, "mf/oci2", "1").content == original.content
    for ref in (name, f"{reg.host}/mf/oci:1", f"{reg.host}/mf/oci2:1", "busybox"):
        md.ok("rmi", ref)
    for ref in (name, f"{reg.host}/mf/copy:1"):
        md2.ok("rmi", ref)
