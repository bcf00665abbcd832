"""Image archives: `docker save` (manifest.json) and OCI image layouts (index.json).

save writes both at once, as docker 25+ does: blobs/sha256/<hex> for configs,
layers and OCI manifests, plus manifest.json, index.json and oci-layout, so
`docker load` of any version and `mydocker load` read it.
load takes either, layers gzipped or not; every tar goes through core.safetar,
and every layer is checked against its diff_id before it is stored.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from mydocker.core import images, safetar

_HEX = re.compile(r"^[0-9a-f]{64}$")
_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


@dataclass
class LoadedImage:
    id: str
    config: dict[str, Any]
    layers: list[str]  # layer directory names, lowest first
    size: int
    tags: list[str]


@dataclass
class SaveItem:
    id: str
    config_raw: bytes
    layers: list[str]
    tags: list[str]


# (layer short id, bytes read, bytes in all): what `load` shows as docker's "Loading layer" bar
LayerProgress = Callable[[str, int, int], None]


def load(root: str | Path, fileobj: BinaryIO, progress: LayerProgress | None = None) -> list[LoadedImage]:
    images.layers_dir(root).mkdir(mode=0o700, parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".load-", dir=images.layers_dir(root)))
    try:
        safetar.extract(fileobj, work, whiteouts="skip")
        if (work / "manifest.json").exists():
            entries = _docker_entries(work)
        elif (work / "index.json").exists():
            entries = _oci_entries(work)
        else:
            raise images.ImageError("invalid image archive: neither manifest.json nor index.json found")
        return [_load_one(root, work, *entry, progress=progress) for entry in entries]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _open(work: Path, name: str) -> BinaryIO:
    """A file of the extracted archive by the name a manifest gives, never
    through a symlink (the archive is untrusted)."""
    parts = safetar.clean_name(name)
    if not parts:
        raise images.ImageError(f"invalid path in image manifest: {name!r}")
    root_fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    try:
        dir_fd = safetar._open_dir(root_fd, parts[:-1], create=False)
    except safetar.UnsafeArchive:
        raise images.ImageError(f"image archive is missing {name}") from None
    finally:
        os.close(root_fd)
    try:
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        raise images.ImageError(f"image archive is missing {name}: {exc.strerror}") from None
    finally:
        os.close(dir_fd)
    return os.fdopen(fd, "rb")


def _read(work: Path, name: str) -> bytes:
    with _open(work, name) as f:
        return f.read()


def _docker_entries(work: Path) -> list[tuple[bytes, list[str], list[str]]]:
    manifest = json.loads(_read(work, "manifest.json"))
    if not isinstance(manifest, list):
        raise images.ImageError("invalid manifest.json")
    return [(_read(work, m["Config"]), list(m.get("Layers") or []), list(m.get("RepoTags") or []))
            for m in manifest]


def _blob(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or not _HEX.match(hexpart):
        raise images.ImageError(f"unsupported digest {digest!r}")
    return f"blobs/sha256/{hexpart}"


def _oci_entries(work: Path) -> list[tuple[bytes, list[str], list[str]]]:
    index = json.loads(_read(work, "index.json"))
    out: list[tuple[bytes, list[str], list[str]]] = []
    by_manifest: dict[str, tuple[bytes, list[str], list[str]]] = {}
    for descriptor in index.get("manifests", []):
        manifest_digest = _pick_manifest(work, descriptor)
        name = _oci_name(descriptor.get("annotations") or {})
        if manifest_digest not in by_manifest:
            manifest = json.loads(_read(work, _blob(manifest_digest)))
            by_manifest[manifest_digest] = (_read(work, _blob(manifest["config"]["digest"])),
                                            [_blob(layer["digest"]) for layer in manifest.get("layers", [])], [])
            out.append(by_manifest[manifest_digest])
        if name:
            by_manifest[manifest_digest][2].append(name)
    return out


def _pick_manifest(work: Path, descriptor: dict[str, Any]) -> str:
    """A manifest list / nested index resolves to its linux/<host arch> (or first) manifest."""
    if descriptor.get("mediaType") not in _INDEX_TYPES:
        return descriptor["digest"]
    nested = json.loads(_read(work, _blob(descriptor["digest"])))
    manifests = nested.get("manifests") or []
    if not manifests:
        raise images.ImageError("empty image index")
    for m in manifests:
        platform = m.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == images.host_architecture():
            return _pick_manifest(work, m)
    return _pick_manifest(work, manifests[0])


def _oci_name(annotations: dict[str, str]) -> str:
    name = annotations.get("io.containerd.image.name") or ""
    if not name:
        ref = annotations.get("org.opencontainers.image.ref.name") or ""
        name = ref if ("/" in ref or ":" in ref) else ""  # a bare tag names no repository
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name


def _load_one(root: str | Path, work: Path, config_raw: bytes, layer_names: list[str],
              tags: list[str], progress: LayerProgress | None = None) -> LoadedImage:
    try:
        config = json.loads(config_raw)
        diff_ids = list(config["rootfs"]["diff_ids"])
    except (ValueError, KeyError, TypeError):
        raise images.ImageError("invalid image config") from None
    if len(diff_ids) != len(layer_names):
        raise images.ImageError(f"image config lists {len(diff_ids)} layers, the manifest {len(layer_names)}")
    layers: list[str] = []
    size = 0
    for diff, name in zip(diff_ids, layer_names, strict=True):
        algo, _, hexpart = str(diff).partition(":")
        if algo != "sha256" or not _HEX.match(hexpart):
            raise images.ImageError(f"invalid diff_id {diff!r}")
        if not images.layer_path(root, hexpart).exists():
            _store_loaded_layer(root, work, name, diff, hexpart, progress)
        layers.append(hexpart)
        size += images.directory_size(images.layer_path(root, hexpart))
    image_id = images.store_config(root, config_raw)
    return LoadedImage(image_id, config, layers, size, tags)


def _store_loaded_layer(root: str | Path, work: Path, name: str, diff: str, hexpart: str,
                        progress: LayerProgress | None = None) -> None:
    staging = images.new_staging(root)
    raw_tar = images.layers_dir(root) / f".{hexpart}.tar.tmp"
    try:
        # Keep the uncompressed bytes as we extract, in case our canonical tar of
        # the result differs from them (then save must emit these instead).
        with open(raw_tar, "wb") as keep, _open(work, name) as opened:
            source: Any = opened
            if progress is not None:
                source = _Counting(opened, os.fstat(opened.fileno()).st_size,
                                   lambda done, total: progress(hexpart[:12], done, total))
            tee = _Tee(safetar.decompressed(source), keep)
            got = safetar.extract(tee, staging, whiteouts="overlay")  # type: ignore[arg-type]
        if got != diff:
            raise images.ImageError(f"layer {name} does not match its diff_id: {got} != {diff}")
        if images.diff_id(staging) != diff:
            os.rename(raw_tar, images.layer_tar_path(root, hexpart))
        images._install(staging, images.layer_path(root, hexpart))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if raw_tar.exists():
            raw_tar.unlink()


class _Counting:
    """A file read through, reporting how far."""

    def __init__(self, f: BinaryIO, total: int, report: Callable[[int, int], None]) -> None:
        self.f, self.total, self.report, self.done = f, total, report, 0
        report(0, total)

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.done += len(data)
        self.report(self.done, self.total)
        return data

    def peek(self, n: int = 0) -> bytes:  # for gzip's magic: the file is a BufferedReader
        return self.f.peek(n)  # type: ignore[attr-defined,no-any-return]

    def seek(self, *args: Any) -> int:
        return self.f.seek(*args)

    def tell(self) -> int:
        return self.f.tell()


class _Tee:
    def __init__(self, source: Any, sink: BinaryIO) -> None:
        self.source, self.sink = source, sink

    def read(self, n: int = -1) -> bytes:
        data = self.source.read(n)
        self.sink.write(data)
        return data

    def peek(self, n: int = 0) -> bytes:
        return b""  # already decompressed: never gzip magic


def save(root: str | Path, items: list[SaveItem], out: BinaryIO) -> None:
    manifest, index = [], []
    written: set[str] = set()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)

        def blob(data: bytes) -> str:
            digest = hashlib.sha256(data).hexdigest()
            if digest not in written:
                _add_bytes(tar, f"blobs/sha256/{digest}", data)
                written.add(digest)
            return digest

        for item in items:
            config_hex = blob(item.config_raw)
            layer_descriptors = []
            for layer in item.layers:
                size = _add_layer(tar, root, layer, written)
                layer_descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                          "digest": f"sha256:{layer}", "size": size})
            oci_manifest = json.dumps({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": f"sha256:{config_hex}", "size": len(item.config_raw)},
                "layers": layer_descriptors,
            }, separators=(",", ":")).encode()
            manifest_hex = blob(oci_manifest)
            descriptor = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "digest": f"sha256:{manifest_hex}", "size": len(oci_manifest)}
            for tag in item.tags or [""]:
                entry = dict(descriptor)
                if tag:
                    entry["annotations"] = {"io.containerd.image.name": _full_name(tag),
                                            "org.opencontainers.image.ref.name": tag.rpartition(":")[2]}
                index.append(entry)
            manifest.append({"Config": f"blobs/sha256/{config_hex}", "RepoTags": item.tags or None,
                             "Layers": [f"blobs/sha256/{layer}" for layer in item.layers]})
        _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add_bytes(tar, "index.json", json.dumps({"schemaVersion": 2,
                                                  "mediaType": "application/vnd.oci.image.index.v1+json",
                                                  "manifests": index}).encode())
        _add_bytes(tar, "manifest.json", json.dumps(manifest).encode())


def _full_name(tag: str) -> str:
    repo = tag.rpartition(":")[0]
    if "/" not in repo:
        return f"docker.io/library/{tag}"
    first = repo.split("/", 1)[0]
    return tag if ("." in first or ":" in first or first == "localhost") else f"docker.io/{tag}"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_layer(tar: tarfile.TarFile, root: str | Path, layer: str, written: set[str]) -> int:
    """Add the layer's tar (the bytes its diff_id names) once; its size."""
    from mydocker.core import layers

    kept = images.layer_tar_path(root, layer)
    with tempfile.TemporaryFile(dir=images.layers_dir(root)) as tmp:
        original = None if kept.exists() else layers.original_tar(root, layer)  # a pulled layer's blob
        if kept.exists():
            with open(kept, "rb") as f:
                shutil.copyfileobj(f, tmp)
        elif original is not None:
            with original:
                shutil.copyfileobj(original, tmp)
        else:
            images.write_tree(images.layer_path(root, layer), tmp, canonical=True)
        size = tmp.tell()
        if layer in written:
            return size
        tmp.seek(0)
        digest = hashlib.sha256()
        while chunk := tmp.read(1 << 20):
            digest.update(chunk)
        if digest.hexdigest() != layer:
            raise images.ImageError(f"layer {layer[:12]} on disk no longer matches its diff_id")
        tmp.seek(0)
        info = tarfile.TarInfo(f"blobs/sha256/{layer}")
        info.size, info.mode = size, 0o644
        tar.addfile(info, tmp)
        written.add(layer)
        return size
