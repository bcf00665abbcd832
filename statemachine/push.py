"""push: an image's layers, config and manifest to a registry, then a `push`
event on the image's stream with the digest the registry knows it by.

A layer goes as the compressed blob kept beside it (a pulled layer: the very
bytes it was pulled as, so a pushed-back image keeps its layer digests); a layer
made here (commit, import, load) is gzipped once (mtime 0: the same digest each
time) and that blob is kept for the next push. A blob the registry has is skipped
("Layer already exists").
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mydocker.core import distribution, layers, locks
from mydocker.core import images as core_images
from mydocker.core import registry_client as rc
from mydocker.statemachine import images
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import NotFound, UserError
from mydocker.statemachine.pull import PARALLEL, Progress, client_for, parse_reference, user_error
from mydocker.store.events import Event

GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass
class PushResult:
    tag: str
    digest: str
    size: int


def push(ctx: Context, text: str, progress: Progress | None = None,
         announce: Callable[[str], None] | None = None) -> PushResult:
    ref = parse_reference(text)
    if ref.digest:
        raise UserError(f"cannot push a digest reference: {text}")
    image = images.find(ctx.conn, ref.local_tag or "")
    if image is None:
        raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_repository}")
    report = progress or (lambda *_: None)
    if announce:
        announce(f"The push refers to repository [{ref.repository}]")
    client = client_for(ref, "pull,push")
    try:
        blobs = _push_layers(ctx.root, client, image.layers, report)
        config_raw = core_images.config_bytes(ctx.root, image.id, image.config)
        config_digest = "sha256:" + hashlib.sha256(config_raw).hexdigest()
        if not client.has_blob(config_digest):
            import io

            client.upload(config_digest, io.BytesIO(config_raw), len(config_raw))
        manifest, media_type = _manifest(ctx, image.id, config_raw, config_digest, blobs)
        digest = client.put_manifest(ref.tag or "latest", manifest, media_type)
    except (rc.RegistryError, core_images.ImageError) as exc:
        raise user_error(ref, exc, "push") from None
    except OSError as exc:
        raise UserError(f"failed to push {ref.familiar}: {exc.strerror or exc}") from None
    finally:
        client.close()
    with locks.hold(ctx.root, "images"):
        images._append(ctx, image.id, [Event("push", {"reference": ref.full, "repository": ref.repository,
                                                      "digest": digest})])
    return PushResult(ref.tag or "latest", digest, len(manifest))


def local_tags(ctx: Context, text: str) -> tuple[str, list[str]]:
    """`push -a`: the repository and the local tags in it, sorted."""
    from mydocker.core import registry_names
    from mydocker.statemachine.pull import all_tags_repository

    ref = all_tags_repository(text)
    found = set()
    for image in images.list_images(ctx.conn):
        for name in image.tags:
            try:
                tagged = registry_names.parse(name)
            except registry_names.BadReference:
                continue
            if tagged.repository == ref.repository and tagged.tag:
                found.add(tagged.tag)
    if not found:
        raise UserError(f"An image does not exist locally with the tag: {ref.familiar_repository}")
    return ref.repository, sorted(found)


def _manifest(ctx: Context, image_id: str, config_raw: bytes, config_digest: str,
              blobs: list[dict[str, Any]]) -> tuple[bytes, str]:
    """The manifest the image was pulled with, byte for byte, when it still names
    this config and these blobs (its digest then stays the same wherever the image
    goes, Docker or OCI); otherwise Docker schema 2 as docker 20.10 writes it, or
    OCI when a layer is of a kind schema 2 cannot name (zstd, uncompressed)."""
    for (payload,) in ctx.conn.execute(
            "SELECT payload FROM events WHERE stream_type = 'image' AND stream_id = ? AND type = 'pull' "
            "AND json_extract(payload, '$.manifest') IS NOT NULL ORDER BY seq DESC", (image_id,)):
        kept = json.loads(payload)["manifest"]
        raw = str(kept["raw"]).encode("utf-8", "surrogateescape")
        try:
            body = json.loads(raw)
            same = body["config"]["digest"] == config_digest and \
                [x["digest"] for x in body["layers"]] == [b["digest"] for b in blobs]
        except (ValueError, KeyError, TypeError):
            same = False
        if same:
            return raw, str(kept["mediaType"])
    if all(b["mediaType"] in distribution.GZIP_TYPES for b in blobs):
        return distribution.docker_manifest(config_raw, config_digest, blobs), rc.MANIFEST_V2
    return distribution.oci_manifest(config_raw, config_digest, blobs), rc.OCI_MANIFEST


def _push_layers(root: str, client: rc.Client, layer_names: list[str], report: Progress) -> list[dict[str, Any]]:
    unique = list(dict.fromkeys(layer_names))
    for layer in reversed(unique):  # docker lists the top layer first
        report(layer[:12], "Preparing", None, None)
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = {layer: pool.submit(_push_layer, root, client, layer, report) for layer in unique}
        errors = [f.exception() for f in futures.values()]
    for error in errors:
        if error is not None:
            raise error
    return [futures[layer].result() for layer in layer_names]


def _push_layer(root: str, client: rc.Client, layer: str, report: Progress) -> dict[str, Any]:
    short = layer[:12]
    info = _blob_for(root, layer)
    if client.has_blob(info["digest"]):
        report(short, "Layer already exists", None, None)
        return info
    host, _, source = str(info.get("repository") or "").partition("/")
    if host == client.host and source and source != client.repository and client.mount(info["digest"], source):
        report(short, f"Mounted from {source}", None, None)
        return info
    size = info["size"]
    with open(layers.blob_path(root, layer), "rb") as f:
        client.upload(info["digest"], _Counting(f, size, lambda n: report(short, "Pushing", n, size)), size)
    report(short, "Pushed", None, None)
    return info


def _blob_for(root: str, layer: str) -> dict[str, Any]:
    """The layer's kept blob, made (gzip of its tar) when there is none yet."""
    with locks.hold(root, f"layer-{layer}"):
        info = layers.blob_info(root, layer)
        if info is not None:
            return info
        if not layers.layer_exists(root, layer):
            raise core_images.ImageError(f"layer {layer[:12]} is missing from the layer store")
        fd, tmp = tempfile.mkstemp(prefix=".push-", dir=core_images.layers_dir(root))
        try:
            with os.fdopen(fd, "wb") as out:
                hashing = _HashingWriter(out)
                layers.compress_for_push(root, layer, hashing)  # type: ignore[arg-type]
            layers.keep_blob(root, layer, Path(tmp), "sha256:" + hashing.digest.hexdigest(), GZIP_LAYER)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        info = layers.blob_info(root, layer)
        assert info is not None
        return info


class _HashingWriter:
    def __init__(self, out: Any) -> None:
        self.out = out
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


class _Counting:
    """A file for requests to stream, reporting how far it got."""

    def __init__(self, f: Any, size: int, report: Callable[[int], None]) -> None:
        self.f = f
        self.size = size
        self.report = report
        self.done = 0

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.done += len(data)
        self.report(self.done)
        return data

    def __len__(self) -> int:  # requests sends Content-Length, not chunks
        return self.size

    def __iter__(self) -> Any:
        while chunk := self.read(1 << 20):
            yield chunk
