"""Pull faults against a real docker-registry: one line, exit 1, nothing half-stored."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.integration.conftest import MYDOCKER
from tests.integration.registry_server import Front, Layout, Registry, free_port, tar_of
from tests.integration.test_registry import busybox_tar, layers_on_disk

if not shutil.which("docker-registry") or not shutil.which("skopeo"):
    pytest.skip("docker-registry and skopeo are installed by `make test`", allow_module_level=True)


@pytest.fixture
def registry(md, tmp_path: Path):
    reg = Registry(tmp_path / "registry")
    md.env["DOCKER_CONFIG"] = str(tmp_path / "dockercfg")
    yield reg
    reg.stop()


@pytest.fixture
def front(registry):
    f = Front(registry)
    yield f
    f.stop()


def nothing_stored(md) -> None:
    assert layers_on_disk(md) == set()
    with md.db() as conn:
        assert conn.execute("SELECT count(*) FROM images WHERE tags LIKE '%127.0.0.1%'").fetchone()[0] == 0


def big_image(layout: Layout, tag: str, megabytes: int = 6) -> list[str]:
    """An image whose second layer is incompressible (it takes a while through a
    slow front); the digests of its layer blobs."""
    import json

    noise = tar_of({"data/noise": os.urandom(megabytes << 20)})
    descriptor = layout.image([busybox_tar(), noise])
    layout.tag(tag, descriptor)
    manifest = json.loads((layout.dir / "blobs/sha256" / descriptor["digest"][7:]).read_bytes())
    return [x["digest"] for x in manifest["layers"]]


def pushed_busybox(md, registry, repo: str = "me/bb:1") -> tuple[str, str]:
    """(name, digest of its one layer blob) of busybox pushed to the registry."""
    name = f"{registry.host}/{repo}"
    md.ok("tag", "busybox", name)
    md.ok("push", name)
    md.ok("rmi", name)
    md.ok("rmi", "busybox")
    blobs = [p for p in (md.root / "layers").glob("*.blob.json")] if (md.root / "layers").exists() else []
    assert not blobs
    # the repository's blobs are its layer and its config: the layer is the big one
    blobs = [f"sha256:{p.name}" for p in (registry.storage / "docker/registry/v2/repositories" /
                                          repo.split(":")[0] / "_layers/sha256").iterdir()]
    return name, max(blobs, key=lambda d: registry.blob_file(d).stat().st_size)


def test_unknown_names_and_registry_down(md, registry):
    missing = md("pull", f"{registry.host}/me/none:1")
    assert (missing.code, missing.err) == (
        1, f"Error: manifest for {registry.host}/me/none:1 not found: manifest unknown: manifest unknown\n")
    assert missing.out == ""
    port = free_port()
    down = md("pull", f"127.0.0.1:{port}/me/x")
    assert (down.code, down.err) == (1, f'Error: Get "http://127.0.0.1:{port}/v2/": connect: connection refused\n')
    bad = md("pull", "Upper/Case")
    assert bad.code == 1 and bad.err.startswith("Error: invalid reference format")
    assert md("pull", "--platform", "a/b/c/d", f"{registry.host}/me/x").code == 1
    push_missing = md("push", f"{registry.host}/me/nothing:1")
    assert push_missing.err == f"Error: An image does not exist locally with the tag: {registry.host}/me/nothing\n"


def test_digest_mismatch_stores_nothing(md, registry):
    name, layer = pushed_busybox(md, registry)
    data = registry.blob_file(layer)
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    result = md("pull", name)
    assert result.code == 1
    assert result.err == f"Error: filesystem layer verification failed for digest {layer}\n"
    nothing_stored(md)
    assert list((md.root / "downloads").iterdir()) == []
    assert md("system", "check").code == 0


def test_truncated_download_fails_then_resumes(md, registry, front):
    name, layer = pushed_busybox(md, registry)
    name = name.replace(registry.host, front.host)
    front.truncate = True
    result = md("pull", name)
    assert result.code == 1
    assert result.err == f"Error: error pulling {layer}: unexpected EOF\n"
    nothing_stored(md)
    check = md("system", "check")
    assert check.code == 1 and f"leaked: download {md.root}/downloads/{layer[7:]}.partial" in check.out
    front.truncate = False
    md.ok("pull", name)
    ranges = [r for path, r in front.blob_gets if path.endswith(layer)]
    assert ranges[-1].startswith("bytes=") and ranges[-1] != "bytes=0-"  # the second pull resumed
    assert md("system", "check").code == 0
    assert md.ok("run", "--rm", "--network", "none", name, "echo", "whole") == "whole\n"


def test_hostile_layer_paths_are_refused(md, registry, tmp_path):
    layout = Layout(tmp_path / "layout")
    for tag, member in (("dotdot", "../../../escaped"), ("absolute", "/escaped-abs")):
        raw = tmp_path / f"{tag}.tar"
        with tarfile.open(raw, "w") as tar:
            info = tarfile.TarInfo(member)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"x\n"))
        layout.tag(tag, layout.image([busybox_tar(), raw.read_bytes()]))
        layout.copy(tag, registry.host, f"evil/{tag}:1")
        result = md("pull", f"{registry.host}/evil/{tag}:1")
        assert result.code == 1, result.out
        assert result.err.startswith("Error: failed to register layer:"), result.err
        assert len(result.err.splitlines()) == 1
    with md.db() as conn:
        assert conn.execute("SELECT count(*) FROM images WHERE tags LIKE '%evil%'").fetchone()[0] == 0
    assert not list(tmp_path.rglob("escaped*"))
    assert not Path("/escaped-abs").exists()
    assert not list((md.root / "layers").glob(".pull-*"))


def _pull_in_background(md, name: str) -> subprocess.Popen:
    return subprocess.Popen([MYDOCKER, "--root", str(md.root), "pull", name], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env={**os.environ, **md.env})


def _wait_for_partial(md, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        partials = list((md.root / "downloads").glob("*.partial")) if (md.root / "downloads").exists() else []
        if partials and partials[0].stat().st_size > 0:
            return partials[0]
        time.sleep(0.02)
    raise AssertionError("no download started")


def test_pull_killed_midway_then_check_prune_and_pull_again(md, registry, front, tmp_path):
    layout = Layout(tmp_path / "layout")
    big_image(layout, "big")
    layout.copy("big", registry.host, "me/big:1")
    name = f"{front.host}/me/big:1"
    front.delay = 0.02
    proc = _pull_in_background(md, name)
    partial = _wait_for_partial(md)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    check = md("system", "check")
    assert check.code == 1 and f"leaked: download {partial}" in check.out
    pruned = md.ok("system", "prune", "-f")  # issue 11: system prune removes partial downloads
    leftovers = pruned.partition("Deleted Leftovers:\n")[2].partition("\n\n")[0].splitlines()
    assert f"download {partial}" in leftovers, pruned
    assert not partial.exists()
    with md.db() as conn:
        assert conn.execute("SELECT count(*) FROM images WHERE tags LIKE '%big%'").fetchone()[0] == 0

    proc = _pull_in_background(md, name)  # killed again: this time the next pull finishes it
    partial = _wait_for_partial(md)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    front.delay = 0
    md.ok("pull", name)
    assert not partial.exists()
    assert md("system", "check").code == 0
    assert md.ok("run", "--rm", "--network", "none", name, "ls", "/data") == "noise\n"


def test_two_pulls_at_once_download_once_and_both_succeed(md, registry, front, tmp_path):
    layout = Layout(tmp_path / "layout")
    layer_digests = big_image(layout, "big", megabytes=3)
    layout.copy("big", registry.host, "me/twice:1")
    name = f"{front.host}/me/twice:1"
    md.ok("images")  # the database exists before two processes race to make it
    front.delay = 0.005
    procs = [_pull_in_background(md, name) for _ in range(2)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert [r[2] for r in results] == [0, 0], results
    from collections import Counter

    gets = Counter(path.rsplit("/", 1)[1] for path, _ in front.blob_gets)
    assert [gets[d] for d in layer_digests] == [1, 1]  # each layer downloaded once (the config by both)
    outputs = [r[0].decode() for r in results]
    assert sum(out.count(": Pull complete") for out in outputs) == 2  # each layer unpacked by one of them
    with md.db() as conn:
        assert conn.execute("SELECT count(*) FROM images WHERE tags LIKE '%twice%'").fetchone()[0] == 1
    assert md.ok("run", "--rm", "--network", "none", name, "ls", "/data") == "noise\n"


def test_disk_full_is_one_line_and_no_image(md, registry, tmp_path):
    from tests.integration.conftest import Runtime

    layout = Layout(tmp_path / "layout")
    big_image(layout, "big", megabytes=6)
    layout.copy("big", registry.host, "me/full:1")
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small)], check=True)
    try:
        tiny = Runtime(small / "root")
        tiny.env["DOCKER_CONFIG"] = md.env["DOCKER_CONFIG"]
        result = tiny("pull", f"{registry.host}/me/full:1")
        assert result.code == 1, result.err
        assert result.err.startswith("Error: failed to register layer: No space left on device"), result.err
        assert len(result.err.splitlines()) == 1
        conn = tiny.db()
        try:
            assert conn.execute("SELECT count(*) FROM images").fetchone()[0] == 0
        finally:
            conn.close()
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_pull_killed_before_registering_leaves_layers_that_check_reports_and_prune_removes(md, registry):
    name, _ = pushed_busybox(md, registry)
    killed = md("pull", name, env={"MYDOCKER_CRASH_AT": "pull-register"})
    assert killed.code == -signal.SIGKILL
    assert len(layers_on_disk(md)) == 1
    check = md("system", "check")
    assert check.code == 1 and "leaked: layer " in check.out
    assert "removed: layer " in md.ok("system", "check", "--fix")
    assert layers_on_disk(md) == set()
    assert not list((md.root / "layers").glob("*.blob*"))
    assert md("system", "check").code == 0
    md.ok("pull", name)
    assert md("system", "check").code == 0
