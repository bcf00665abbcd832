"""The shared layer store, as pulls and pushes see it.

ROOT/layers/<diff hex>/ is a layer unpacked once, whatever image refers to it
(core/images.py). Beside it a pulled (or pushed) layer keeps the compressed blob
the registry knows it by, so a push sends the same bytes and a save can emit the
exact tar its diff_id names:
    ROOT/layers/<diff hex>.blob         the compressed bytes
    ROOT/layers/<diff hex>.blob.json    {"digest", "mediaType", "size"}
Downloads in flight are ROOT/downloads/<blob hex>.partial, written under the
flock ROOT/locks/blob-<blob hex>; one whose lock is free was left by a killed
pull: the next pull resumes it, `system check` reports it, `system prune`
removes it. A layer being unpacked is ROOT/layers/.pull-<diff hex>, under the
flock ROOT/locks/layer-<diff hex>.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import shutil
from pathlib import Path
from typing import IO, Any, BinaryIO

from mydocker.core import images, locks, safetar

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def downloads_dir(root: str | Path) -> Path:
    return Path(root) / "downloads"


def partial_path(root: str | Path, blob_digest: str) -> Path:
    return downloads_dir(root) / f"{hex_of(blob_digest)}.partial"


def hex_of(digest: str) -> str:
    return digest.split(":", 1)[-1]


def blob_path(root: str | Path, layer: str) -> Path:
    return images.layers_dir(root) / f"{layer}.blob"


def blob_info(root: str | Path, layer: str) -> dict[str, Any] | None:
    """The compressed blob kept for a layer: {digest, mediaType, size}, if any."""
    try:
        info = json.loads((images.layers_dir(root) / f"{layer}.blob.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return info if blob_path(root, layer).exists() else None


def keep_blob(root: str | Path, layer: str, source: Path, digest: str, media_type: str,
              repository: str = "") -> None:
    """Move a verified blob beside its layer (the .json last: it says the blob is
    whole). repository: where it was pulled from (host/path), for a later
    push's cross-repository mount."""
    size = source.stat().st_size
    os.replace(source, blob_path(root, layer))
    meta = images.layers_dir(root) / f"{layer}.blob.json"
    tmp = meta.with_suffix(".tmp")
    tmp.write_text(json.dumps({"digest": digest, "mediaType": media_type, "size": size, "repository": repository}))
    os.replace(tmp, meta)


def remove_blob(root: str | Path, layer: str) -> None:
    for path in (images.layers_dir(root) / f"{layer}.blob.json", blob_path(root, layer)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def layer_exists(root: str | Path, layer: str) -> bool:
    return images.layer_path(root, layer).is_dir()


def is_free(root: str | Path, key: str) -> bool:
    """Nobody holds the flock `key` (a process that held it and was killed does not)."""
    path = locks.lock_path(root, key)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def stale(root: str | Path) -> list[Path]:
    """Partial downloads and half-unpacked layers that no running pull owns."""
    found: list[Path] = []
    downloads = downloads_dir(root)
    if downloads.is_dir():
        for path in sorted(downloads.iterdir()):
            if path.name.endswith(".partial") and is_free(root, f"blob-{path.name.removesuffix('.partial')}"):
                found.append(path)
    layers = images.layers_dir(root)
    if layers.is_dir():
        for path in sorted(layers.glob(".pull-*")):
            if is_free(root, f"layer-{path.name.removeprefix('.pull-')}"):
                found.append(path)
    return found


def remove_stale(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


class _Decompressed:
    """A plain-tar reader with a `peek` that never looks like gzip (safetar sniffs)."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader

    def read(self, n: int = -1) -> bytes:
        return self.reader.read(n if n is not None and n >= 0 else 1 << 30)

    def peek(self, n: int = 0) -> bytes:
        return b""

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> _Decompressed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_decompressed(path: Path) -> IO[bytes]:
    """The blob's tar stream, whether it is gzip, zstd or plain (told by its magic,
    not by what a manifest claims)."""
    f = open(path, "rb")  # noqa: SIM115 - the returned reader owns it
    head = f.read(4)
    f.seek(0)
    if head[:2] == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    if head == _ZSTD_MAGIC:
        import zstandard

        return _Decompressed(zstandard.ZstdDecompressor().stream_reader(f, closefd=True))  # type: ignore[return-value]
    return f


def unpack(root: str | Path, layer: str, blob: Path) -> str:
    """Unpack a verified blob as layer `layer` (its diff hex) through the safe
    extractor; returns the diff_id the tar stream really has."""
    staging = images.layers_dir(root) / f".pull-{layer}"
    remove_stale(staging)  # a killed pull's half
    staging.mkdir(mode=0o755)
    try:
        with open_decompressed(blob) as stream:
            got = safetar.extract(stream, staging, whiteouts="overlay")  # type: ignore[arg-type]
        if got != f"sha256:{layer}":
            raise images.ImageError(f"layer does not match its diff_id: {got} != sha256:{layer}")
        images._install(staging, images.layer_path(root, layer))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return got


def original_tar(root: str | Path, layer: str) -> IO[bytes] | None:
    """The uncompressed tar a kept blob holds (its sha256 is the diff_id), if kept."""
    if blob_info(root, layer) is None:
        return None
    return open_decompressed(blob_path(root, layer))


def compress_for_push(root: str | Path, layer: str, out: BinaryIO) -> None:
    """gzip of the layer's tar (the kept original, else our canonical one);
    mtime 0, so the same layer always gives the same blob digest."""
    kept = images.layer_tar_path(root, layer)
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as gz:
        if kept.exists():
            with open(kept, "rb") as f:
                shutil.copyfileobj(f, gz, 1 << 20)
        else:
            images.write_tree(images.layer_path(root, layer), gz, canonical=True)
