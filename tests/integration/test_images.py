"""commit, import, load, save, export, rmi, tag and image inspect on the real kernel."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

BUSYBOX = shutil.which("busybox") or "/bin/busybox"


def _tar(entries: list[tuple[str, str, object]]) -> bytes:
    """entries: (kind, name, data) - file (bytes|str|Path), dir, symlink."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, data in entries:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, str(data)
                tar.addfile(info)
            else:
                payload = data.read_bytes() if isinstance(data, Path) else (
                    data.encode() if isinstance(data, str) else data)
                info.size, info.mode = len(payload), 0o755
                tar.addfile(info, io.BytesIO(payload))
    return raw.getvalue()


def _busybox_rootfs(*extra: tuple[str, str, object]) -> list[tuple[str, str, object]]:
    return [("dir", "bin", None), ("file", "bin/busybox", Path(BUSYBOX)),
            *[("symlink", f"bin/{a}", "busybox") for a in ("sh", "cat", "ls", "echo", "test")],
            ("dir", "etc", None), *extra]


def _docker_save_archive(path: Path, layers: list[bytes], config: dict, tags: list[str]) -> str:
    """A `docker save` (legacy manifest.json) archive; returns the image id docker would give."""
    config = {**config, "rootfs": {"type": "layers",
                                   "diff_ids": ["sha256:" + hashlib.sha256(x).hexdigest() for x in layers]}}
    config_raw = json.dumps(config).encode()
    config_hex = hashlib.sha256(config_raw).hexdigest()
    manifest = [{"Config": f"{config_hex}.json", "RepoTags": tags,
                 "Layers": [f"layer{i}/layer.tar" for i in range(len(layers))]}]
    files = [("file", f"{config_hex}.json", config_raw), ("file", "manifest.json", json.dumps(manifest).encode())]
    files += [("file", f"layer{i}/layer.tar", data) for i, data in enumerate(layers)]
    path.write_bytes(_tar(files))
    return f"sha256:{config_hex}"


def test_commit_then_run_shows_changes_and_deletions(md):
    cid = md.ok("run", "-d", "--name", "src", "busybox", "sh", "-c",
                "echo changed > /etc/motd; rm /etc/group; mkdir -p /opt/app; echo hi > /opt/app/f; exec top").strip()
    md.ok("exec", "src", "test", "-f", "/opt/app/f")
    image_id = md.ok("commit", "-m", "my message", "-a", "Ann <ann@example.com>", "src", "myimage").strip()
    assert image_id.startswith("sha256:")
    assert md.inspect("src")["State"]["Running"], "the container runs on after a commit"
    out = md.ok("run", "--rm", "myimage", "sh", "-c", "cat /etc/motd /opt/app/f; ls /etc")
    assert out.splitlines()[:2] == ["changed", "hi"]
    assert "group" not in out.split() and "passwd" in out.split()
    info = md.inspect("myimage")
    assert info["Id"] == image_id and info["RepoTags"] == ["myimage:latest"]
    assert info["Config"]["Cmd"] == ["sh", "-c", "echo changed > /etc/motd; rm /etc/group; mkdir -p /opt/app; "
                                     "echo hi > /opt/app/f; exec top"]
    assert info["Comment"] == "my message" and info["Author"] == "Ann <ann@example.com>"
    assert len(info["RootFS"]["Layers"]) == 2
    with md.db() as conn:
        image_event = json.loads(conn.execute(
            "SELECT payload FROM events WHERE stream_id = ? AND type = 'commit'", (image_id,)).fetchone()[0])
        container_event = json.loads(conn.execute(
            "SELECT payload FROM events WHERE stream_id = ? AND type = 'commit'", (cid,)).fetchone()[0])
    assert image_event["comment"] == "my message" and image_event["author"] == "Ann <ann@example.com>"
    assert container_event["paused"] is True and container_event["image"] == image_id
    # a commit of the committed image's container stacks a third layer, deletion kept
    md.ok("run", "--name", "second", "myimage", "sh", "-c", "rm -r /opt/app")
    md.ok("commit", "second", "third:v1")
    listing = md.ok("run", "--rm", "third:v1", "ls", "/opt", "/etc")
    assert "app" not in listing.split() and "group" not in listing.split()
    md.ok("rm", "-f", "src", "second")
    assert md.ok("replay", "--check").strip() == "projections match the log"


def test_docker_save_archive_with_two_layers_and_a_whiteout_loads_and_runs(md, tmp_path):
    layer1 = _tar(_busybox_rootfs(("file", "etc/gone", "bye\n"), ("file", "etc/kept", "kept\n"),
                                  ("dir", "opt", None), ("file", "opt/old", "old\n")))
    layer2 = _tar([("dir", "etc", None), ("file", "etc/.wh.gone", b""), ("file", "etc/new", "new\n"),
                   ("dir", "opt", None), ("file", "opt/.wh..wh..opq", b""), ("file", "opt/fresh", "fresh\n")])
    archive = tmp_path / "two.tar"
    config = {"architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05Z",
              "config": {"Cmd": ["cat", "/etc/new"], "Env": ["PATH=/bin", "GREETING=hello"], "WorkingDir": "/etc"}}
    expected_id = _docker_save_archive(archive, [layer1, layer2], config, ["test/two:1"])
    assert md.ok("load", "-i", str(archive)).strip() == "Loaded image: test/two:1"
    info = md.inspect("test/two:1")
    assert info["Id"] == expected_id, "image id = sha256 of the config, as docker"
    assert md.ok("run", "--rm", "test/two:1") == "new\n"  # the image's Cmd
    listing = md.ok("run", "--rm", "test/two:1", "sh", "-c", "ls /etc; ls /opt; pwd; echo $GREETING")
    words = listing.split()
    assert "gone" not in words and "kept" in words and "new" in words
    assert "old" not in words and "fresh" in words, "opaque dir hides the lower layer's content"
    assert words[-2:] == ["/etc", "hello"]
    assert "test/two" in md.ok("images")


def test_save_then_load_round_trips_to_the_same_id(md, tmp_path):
    md.ok("run", "--name", "cc", "busybox", "sh", "-c", "echo data > /root/file; rm /etc/group")
    image_id = md.ok("commit", "cc", "round:trip").strip()
    md.ok("rm", "cc")
    out = tmp_path / "out.tar"
    md.ok("save", "-o", str(out), "round:trip")
    with tarfile.open(out) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
        index = json.load(tar.extractfile("index.json"))
    assert "oci-layout" in names and manifest[0]["RepoTags"] == ["round:trip"]
    assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == "docker.io/library/round:trip"
    assert md.ok("rmi", "round:trip").splitlines()[-1] == f"Deleted: {image_id}"
    assert md("inspect", "round:trip").code == 1
    assert md.ok("load", "-i", str(out)).strip() == "Loaded image: round:trip"
    assert md.inspect("round:trip")["Id"] == image_id
    assert md.ok("run", "--rm", "round:trip", "sh", "-c", "cat /root/file; ls /etc").split()[0] == "data"
    assert "group" not in md.ok("run", "--rm", "round:trip", "ls", "/etc").split()
    # the OCI layout alone (no manifest.json) loads too
    oci = tmp_path / "oci.tar"
    with tarfile.open(out) as src, tarfile.open(oci, "w") as dst:
        for member in src.getmembers():
            if member.name != "manifest.json":
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    md.ok("rmi", "round:trip")
    assert md.ok("load", "-i", str(oci)).strip() == "Loaded image: round:trip"
    assert md.inspect("round:trip")["Id"] == image_id
    with md.db() as conn:
        types = [r[0] for r in conn.execute(
            "SELECT type FROM events WHERE stream_id = ? ORDER BY version", (image_id,))]
    assert types == ["commit", "save", "delete", "load", "delete", "load"]


def test_hostile_archives_are_refused_and_write_nothing_outside(md, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("untouched")
    hostile = {
        "dotdot": [("file", "../../../../../../" + str(outside / "pwned").lstrip("/"), "x")],
        "absolute": [("file", str(outside / "pwned"), "x")],
        "symlink": [("symlink", "evil", str(outside)), ("file", "evil/pwned", "x")],
    }
    for name, entries in hostile.items():
        path = tmp_path / f"{name}.tar"
        path.write_bytes(_tar(entries))
        result = md("import", str(path), f"hostile:{name}")
        assert result.code == 1 and result.err.startswith("Error: ") and "Traceback" not in result.err, result
        layer = _tar(entries)
        archive = tmp_path / f"{name}-save.tar"
        _docker_save_archive(archive, [layer], {"config": {}}, [f"hostile:{name}"])
        result = md("load", "-i", str(archive))
        assert result.code == 1 and result.err.startswith("Error: "), result
    # a manifest pointing outside the archive
    bad = tmp_path / "bad-manifest.tar"
    bad.write_bytes(_tar([("file", "manifest.json", json.dumps(
        [{"Config": "../../../../etc/passwd", "Layers": [], "RepoTags": []}]))]))
    assert md("load", "-i", str(bad)).code == 1
    assert sorted(p.name for p in outside.iterdir()) == ["keep"]
    assert (outside / "keep").read_text() == "untouched"
    assert md.ok("images", "-q").count("\n") == 1  # busybox only
    layers = md.root / "layers"
    assert not [p for p in layers.iterdir() if p.name.startswith(".")], "no staging left behind"


def test_image_symlinks_cannot_make_a_volume_land_outside(md, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    rootfs = tmp_path / "evil.tar"
    rootfs.write_bytes(_tar(_busybox_rootfs(("symlink", "data", str(outside)),
                                            ("symlink", "up", "../../../../../../../../" + str(outside)))))
    md.ok("import", str(rootfs), "evil:1")
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("volume\n")
    out = md.ok("run", "--rm", "-v", f"{src}:/data/mnt", "-v", f"{src}:/up/other", "evil:1",
                "sh", "-c", "cat /data/mnt/f /up/other/f")
    assert out == "volume\nvolume\n"
    assert list(outside.iterdir()) == [], "the mount points were made inside the rootfs, not on the host"


def test_import_entrypoint_cmd_and_inspect(md, tmp_path):
    rootfs = tmp_path / "rootfs.tar.gz"
    import gzip

    rootfs.write_bytes(gzip.compress(_tar(_busybox_rootfs(("file", "etc/msg", "imported\n")))))
    image_id = md.ok("import", "-m", "from a tarball", "-c", 'ENTRYPOINT ["echo", "ep"]',
                     "-c", 'CMD ["default"]', str(rootfs), "imp:1").strip()
    info = md.inspect("imp:1")
    assert info["Id"] == image_id
    assert info["Config"]["Entrypoint"] == ["echo", "ep"] and info["Config"]["Cmd"] == ["default"]
    assert md.ok("run", "--rm", "imp:1") == "ep default\n"
    assert md.ok("run", "--rm", "imp:1", "given") == "ep given\n"
    assert md.ok("run", "--rm", "--entrypoint", "cat", "imp:1", "/etc/msg") == "imported\n"
    assert md.ok("inspect", "--format", "{{.Id}}", "imp:1").strip() == image_id
    plain = tmp_path / "plain.tar"
    plain.write_bytes(_tar(_busybox_rootfs()))
    md.ok("import", str(plain), "plain")
    nocmd = md("run", "--rm", "plain")
    assert nocmd.code == 125 and "No command specified" in nocmd.err


def test_rmi_tag_and_images(md):
    md.ok("run", "--name", "user", "busybox", "true")
    image_id = md.ok("commit", "user", "base:1").strip()
    md.ok("tag", "base:1", "alias:2")
    md.ok("run", "--name", "user2", "alias:2", "true")
    table = md.ok("images").splitlines()
    # as docker: -q prints one line per tag, so the twice-tagged image twice
    quiet = md.ok("images", "-q").split()
    assert quiet.count(image_id.split(":", 1)[1][:12]) == 2 and len(quiet) == 3
    assert md.ok("images", "-q", "--no-trunc").split().count(image_id) == 2
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert {tuple(line.split()[:2]) for line in table[1:]} >= {("base", "1"), ("alias", "2"), ("busybox", "latest")}
    # a name of a multi-tagged image only untags
    assert md.ok("rmi", "base:1").strip() == "Untagged: base:1"
    refused = md("rmi", "alias:2")
    assert refused.code == 1 and "container" in refused.err and "is using its referenced image" in refused.err
    assert md.inspect("alias:2")["Id"] == image_id
    assert md.ok("rmi", "-f", "alias:2").strip() == "Untagged: alias:2"
    assert md.inspect(image_id)["RepoTags"] == []  # kept for the container that uses it
    assert md.ok("images", "-q", "--no-trunc").split().count(image_id) == 1  # dangling: one <none> row
    assert md.ok("run", "--rm", image_id, "true") == ""
    md.ok("rm", "user", "user2")
    assert md.ok("rmi", image_id).strip() == f"Deleted: {image_id}"
    # a tag that moves leaves the old image untagged
    md.ok("run", "--name", "mm", "busybox", "true")
    first = md.ok("commit", "mm", "moving").strip()
    md.ok("run", "--rm", "--name", "mm2", "busybox", "sh", "-c", "true")
    md.ok("rm", "mm")
    md.ok("run", "--name", "mm3", "busybox", "sh", "-c", "echo 2 > /two")
    second = md.ok("commit", "mm3", "moving").strip()
    md.ok("rm", "mm3")
    assert first != second and md.inspect("moving")["Id"] == second
    assert md.inspect(first)["RepoTags"] == []
    assert md("rmi", "nope").code == 1 and md("tag", "nope", "x").code == 1
    assert md("tag", "busybox", "BAD//name").code == 125
    assert md.ok("replay", "--check").strip() == "projections match the log"


def test_export_is_the_merged_filesystem_without_volumes(md, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "secret").write_text("volume data")
    md.ok("run", "-d", "--name", "exp", "-v", f"{vol}:/mnt/vol", "busybox", "sh", "-c",
          "echo exported > /root/x; rm /etc/group; exec top")
    md.ok("exec", "exp", "test", "-f", "/root/x")
    out = tmp_path / "exp.tar"
    md.ok("export", "-o", str(out), "exp")
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        assert tar.extractfile("root/x").read() == b"exported\n"
    assert "bin/busybox" in names and "etc/passwd" in names
    assert "etc/group" not in names and not any(".wh." in n for n in names)
    assert "mnt/vol/secret" not in names
    md.ok("stop", "-t", "1", "exp")
    md.ok("export", "-o", str(out), "exp")  # a stopped container too
    with tarfile.open(out) as tar:
        assert tar.extractfile("root/x").read() == b"exported\n"
    md.ok("rm", "exp")
    assert md("export", "-o", str(out), "exp").code == 1
