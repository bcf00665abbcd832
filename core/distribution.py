"""Manifests as a pull reads them: an index or manifest list resolves to one
platform's manifest; a manifest names a config and its layers.

Docker schema 2 and OCI manifests (and their lists / indexes) are read; schema 1
is refused, as current docker and containerd refuse it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mydocker.core import registry_client as rc
from mydocker.core.platforms import _ARCH, DistributionError, Platform, host_platform, parse_platform

__all__ = ["DistributionError", "Platform", "host_platform", "parse_platform"]

LAYER_TYPES = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
}
DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
GZIP_TYPES = {DOCKER_GZIP, "application/vnd.oci.image.layer.v1.tar+gzip"}
FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
def _matches(wanted: Platform, entry: dict[str, Any]) -> bool:
    p = entry.get("platform") or {}
    if p.get("os") != wanted.os or _ARCH.get(p.get("architecture", ""), p.get("architecture")) != wanted.architecture:
        return False
    variant = p.get("variant") or ("v8" if wanted.architecture == "arm64" else "")
    return not wanted.variant or not variant or variant == wanted.variant


def pick(index: dict[str, Any], wanted: Platform) -> dict[str, Any]:
    """The index's descriptor for the platform; docker's error when none matches."""
    for entry in index.get("manifests") or []:
        if _matches(wanted, entry):
            return entry
    raise DistributionError(f"no matching manifest for {wanted} in the manifest list entries")


@dataclass
class ImageManifest:
    manifest: rc.Manifest  # the platform's image manifest
    config: dict[str, Any]  # descriptor
    layers: list[dict[str, Any]]  # descriptors, lowest first
    index_digest: str | None  # what the tag pointed at, when that was an index


def resolve(client: rc.Client, reference: str, wanted: Platform) -> ImageManifest:
    """Fetch what the tag or digest names and walk an index down to one image manifest."""
    top = client.manifest(reference)
    manifest, index_digest = top, None
    if top.media_type in (rc.MANIFEST_LIST, rc.OCI_INDEX) or (not top.media_type and "manifests" in top.json):
        index_digest = top.digest
        entry = pick(top.json, wanted)
        manifest = client.manifest(entry["digest"], accept=f"{rc.OCI_MANIFEST}, {rc.MANIFEST_V2}")
    return from_manifest(manifest, index_digest)


def from_manifest(manifest: rc.Manifest, index_digest: str | None = None) -> ImageManifest:
    if manifest.media_type in rc.SCHEMA1 or manifest.json.get("schemaVersion") == 1:
        raise DistributionError("Docker Image manifest version 2, schema 1 is not supported: "
                                "push the image again with a current client")
    if manifest.media_type in (rc.MANIFEST_LIST, rc.OCI_INDEX):
        raise DistributionError("nested image indexes are not supported")
    body = manifest.json
    config = body.get("config")
    layers = body.get("layers")
    if not isinstance(config, dict) or not isinstance(layers, list):
        raise DistributionError(f"invalid image manifest {manifest.digest}")
    for layer in layers:
        media_type = layer.get("mediaType", "")
        if media_type == FOREIGN_LAYER or "nondistributable" in media_type and layer.get("urls"):
            raise DistributionError(f"foreign layer {layer.get('digest')} (from {layer.get('urls')}) is not supported")
        if media_type not in LAYER_TYPES:
            raise DistributionError(f"unsupported layer media type {media_type!r}")
        if not str(layer.get("digest", "")).startswith("sha256:") or not isinstance(layer.get("size"), int):
            raise DistributionError(f"invalid layer descriptor in manifest {manifest.digest}")
    return ImageManifest(manifest, config, layers, index_digest)


def diff_ids(config: dict[str, Any], count: int) -> list[str]:
    try:
        ids = [str(d) for d in config["rootfs"]["diff_ids"]]
    except (KeyError, TypeError):
        raise DistributionError("invalid image config: no rootfs.diff_ids") from None
    if len(ids) != count:
        raise DistributionError(f"image config lists {len(ids)} layers, the manifest {count}")
    for d in ids:
        algo, _, hexpart = d.partition(":")
        if algo != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
            raise DistributionError(f"invalid diff_id {d!r}")
    return ids


def docker_manifest(config_raw: bytes, config_digest: str, layers: list[dict[str, Any]]) -> bytes:
    """Docker schema 2 as docker 20.10 pushes it: its media types, its key order,
    and Go's MarshalIndent with three spaces, so the same image gets the same digest."""
    def descriptor(media_type: str, size: int, digest: str) -> dict[str, Any]:
        return {"mediaType": media_type, "size": size, "digest": digest}

    return json.dumps({
        "schemaVersion": 2,
        "mediaType": rc.MANIFEST_V2,
        "config": descriptor("application/vnd.docker.container.image.v1+json", len(config_raw), config_digest),
        "layers": [descriptor(DOCKER_GZIP, x["size"], x["digest"]) for x in layers],
    }, indent=3).encode()


def oci_manifest(config_raw: bytes, config_digest: str, layers: list[dict[str, Any]]) -> bytes:
    """An OCI image manifest for a push (layer types mapped to OCI's names)."""
    docker_to_oci = {"application/vnd.docker.image.rootfs.diff.tar.gzip": "application/vnd.oci.image.layer.v1.tar+gzip"}
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": rc.OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(config_raw)},
        "layers": [{"mediaType": docker_to_oci.get(x["mediaType"], x["mediaType"]), "digest": x["digest"],
                    "size": x["size"]} for x in layers],
    }, indent=2).encode()
