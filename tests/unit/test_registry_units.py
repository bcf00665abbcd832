"""Registry logic without a registry: names, challenges, platforms, manifests,
credentials, layer blobs."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest
from mydocker.core import distribution, layers, registry_creds, registry_names
from mydocker.core import registry_client as rc
from mydocker.core.registry_names import BadReference, parse


@pytest.mark.parametrize("text, full, familiar", [
    ("alpine", "docker.io/library/alpine:latest", "alpine:latest"),
    ("alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("docker.io/library/alpine", "docker.io/library/alpine:latest", "alpine:latest"),
    ("index.docker.io/user/app:1", "docker.io/user/app:1", "user/app:1"),
    ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
    ("localhost:5000/team/app:1.2", "localhost:5000/team/app:1.2", "localhost:5000/team/app:1.2"),
    ("registry.example.com/a/b/c", "registry.example.com/a/b/c:latest", "registry.example.com/a/b/c:latest"),
    ("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest"),
    ("app@sha256:" + "a" * 64, "docker.io/library/app@sha256:" + "a" * 64, "app@sha256:" + "a" * 64),
    ("app:1@sha256:" + "b" * 64, "docker.io/library/app:1@sha256:" + "b" * 64, "app:1"),
])
def test_names_normalise_as_docker(text, full, familiar):
    ref = parse(text)
    assert ref.full == full
    assert ref.familiar == familiar


def test_digest_only_reference_has_no_local_tag_and_is_fetched_by_digest():
    ref = parse("localhost:5000/app@sha256:" + "c" * 64)
    assert ref.local_tag is None
    assert ref.reference == "sha256:" + "c" * 64
    assert parse("alpine").reference == "latest"
    assert parse("alpine").api_host == "registry-1.docker.io"
    assert parse("alpine").auth_key == "https://index.docker.io/v1/"
    assert parse("localhost:5000/a").auth_key == "localhost:5000"


@pytest.mark.parametrize("text", ["", "UPPER", "a/B", "app:", "app:bad tag", "app@sha256:short", "-lead",
                                  "a//b", "app:" + "t" * 129, " alpine"])
def test_bad_references_are_refused(text):
    with pytest.raises(BadReference, match="invalid reference format"):
        parse(text)


def test_plain_http_only_for_loopback_or_the_setting(monkeypatch):
    monkeypatch.delenv(registry_names.INSECURE_ENV, raising=False)
    assert registry_names.is_plain_http("localhost:5000")
    assert registry_names.is_plain_http("127.0.0.5:80")
    assert registry_names.is_plain_http("[::1]:5000")
    assert not registry_names.is_plain_http("registry.example.com")
    assert not registry_names.is_plain_http("10.0.0.1:5000")
    monkeypatch.setenv(registry_names.INSECURE_ENV, "10.0.0.1:5000, other.example")
    assert registry_names.is_plain_http("10.0.0.1:5000")
    assert registry_names.is_plain_http("other.example:443")


def test_registry_key_of_login_arguments():
    assert registry_names.registry_key("docker.io") == "https://index.docker.io/v1/"
    assert registry_names.registry_key("https://localhost:5000/") == "localhost:5000"
    assert registry_names.registry_key("localhost:5000/v2") == "localhost:5000"


def test_challenge_parsing():
    scheme, params = rc.parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')
    assert scheme == "bearer"
    assert params == {"realm": "https://auth.example/token", "service": "registry.example",
                      "scope": "repository:a/b:pull,push"}
    assert rc.parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})


def _entry(os_name, arch, variant=None):
    platform = {"os": os_name, "architecture": arch, **({"variant": variant} if variant else {})}
    return {"digest": f"sha256:{arch}{variant or ''}", "platform": platform}


def test_platform_pick():
    index = {"manifests": [_entry("linux", "amd64"), _entry("linux", "arm", "v6"), _entry("linux", "arm", "v7"),
                           _entry("linux", "arm64", "v8"), _entry("windows", "amd64")]}
    assert distribution.pick(index, distribution.parse_platform("linux/amd64"))["digest"] == "sha256:amd64"
    assert distribution.pick(index, distribution.parse_platform("linux/arm/v7"))["digest"] == "sha256:armv7"
    assert distribution.pick(index, distribution.parse_platform("arm64"))["digest"] == "sha256:arm64v8"
    with pytest.raises(distribution.DistributionError,
                       match="^no matching manifest for linux/s390x in the manifest list entries$"):
        distribution.pick(index, distribution.parse_platform("linux/s390x"))
    assert distribution.host_platform().os == "linux"
    with pytest.raises(distribution.DistributionError):
        distribution.parse_platform("linux//")


def _manifest(body: dict, media_type: str = "") -> rc.Manifest:
    raw = json.dumps(body).encode()
    return rc.Manifest(raw, media_type or body.get("mediaType", ""), "sha256:x")


def test_schema1_and_foreign_layers_are_refused():
    with pytest.raises(distribution.DistributionError, match="schema 1 is not supported"):
        distribution.from_manifest(_manifest({"schemaVersion": 1, "fsLayers": []}, rc.SCHEMA1[1]))
    foreign = {"schemaVersion": 2, "mediaType": rc.MANIFEST_V2, "config": {"digest": "sha256:c", "size": 1},
               "layers": [{"mediaType": distribution.FOREIGN_LAYER, "digest": "sha256:" + "1" * 64, "size": 3,
                           "urls": ["https://example.invalid/l"]}]}
    with pytest.raises(distribution.DistributionError, match="foreign layer"):
        distribution.from_manifest(_manifest(foreign))


def test_docker_and_oci_manifests_are_read():
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": "sha256:" + "2" * 64, "size": 9}
    body = {"schemaVersion": 2, "mediaType": rc.OCI_MANIFEST, "config": {"digest": "sha256:c", "size": 1},
            "layers": [layer]}
    assert distribution.from_manifest(_manifest(body)).layers == [layer]
    config = {"rootfs": {"diff_ids": ["sha256:" + "3" * 64]}}
    assert distribution.diff_ids(config, 1) == ["sha256:" + "3" * 64]
    with pytest.raises(distribution.DistributionError, match="lists 1 layers, the manifest 2"):
        distribution.diff_ids(config, 2)
    with pytest.raises(distribution.DistributionError, match="invalid diff_id"):
        distribution.diff_ids({"rootfs": {"diff_ids": ["sha256:../../x"]}}, 1)


def test_credentials_in_dockers_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "cfg"))
    assert registry_creds.get("localhost:5000") is None
    (tmp_path / "cfg").mkdir()
    config = tmp_path / "cfg" / "config.json"
    config.write_text(json.dumps({"auths": {"https://old.example": {"auth": base64.b64encode(b"u:p").decode()}},
                                  "credsStore": "desktop", "psFormat": "x"}))
    assert registry_creds.get("old.example") == ("u", "p")  # an entry with a scheme, as older clients wrote
    registry_creds.store("localhost:5000", "me", "pa:ss")
    data = json.loads(config.read_text())
    assert data["credsStore"] == "desktop" and data["psFormat"] == "x"
    assert base64.b64decode(data["auths"]["localhost:5000"]["auth"]) == b"me:pa:ss"
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    assert registry_creds.get("localhost:5000") == ("me", "pa:ss")
    assert registry_creds.remove("localhost:5000") is True
    assert registry_creds.remove("localhost:5000") is False
    assert "localhost:5000" not in json.loads(config.read_text())["auths"]
    config.write_text("{not json")
    with pytest.raises(registry_creds.CredentialsError):
        registry_creds.get("x")


def _tar() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    return raw.getvalue()


@pytest.mark.parametrize("compress", ["gzip", "zstd", "none"])
def test_blobs_are_read_by_their_magic(tmp_path: Path, compress: str):
    import zstandard

    plain = _tar()
    blob = {"gzip": gzip.compress(plain), "zstd": zstandard.ZstdCompressor().compress(plain), "none": plain}[compress]
    path = tmp_path / "blob"
    path.write_bytes(blob)
    with layers.open_decompressed(path) as f:
        assert f.read() == plain


def test_stale_downloads_are_those_nobody_holds(tmp_path: Path):
    from mydocker.core import locks

    root = tmp_path
    layers.downloads_dir(root).mkdir()
    partial = layers.partial_path(root, "sha256:" + "a" * 64)
    partial.write_bytes(b"x")
    with locks.hold(root, "blob-" + "a" * 64):
        assert layers.stale(root) == []
    assert layers.stale(root) == [partial]


def test_registry_errors_in_dockers_words():
    from mydocker.statemachine.pull import user_error

    ref = parse("localhost:5000/team/app:1")
    unknown = rc.RegistryError("manifest unknown: manifest unknown", "MANIFEST_UNKNOWN", 404)
    assert str(user_error(ref, unknown)) == \
        "manifest for localhost:5000/team/app:1 not found: manifest unknown: manifest unknown"
    denied = rc.RegistryError("denied: requested access to the resource is denied", "DENIED", 403)
    assert str(user_error(parse("nope"), denied)) == (
        "pull access denied for nope, repository does not exist or may require 'docker login': "
        "denied: requested access to the resource is denied")
    assert str(user_error(ref, denied, "push")) == "denied: requested access to the resource is denied"
