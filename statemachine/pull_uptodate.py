"""A warm pull: the image a reference names is stored whole, and the registry
still gives the reference the digest our last pull (or push) of it recorded. Then
one HEAD and a `pull` event are the whole pull, as docker answers "Image is up to
date" without fetching anything. Anything else (no record, a moved tag, a missing
layer, a registry that wants a token or does not answer the HEAD) returns None and
the full pull runs. Nothing here loads the HTTP stack of pull.py."""

from __future__ import annotations

import json
from typing import NamedTuple

from mydocker.core import images as core_images
from mydocker.core import locks, mediatypes, platforms, registry_creds, registry_head, registry_names
from mydocker.statemachine import images
from mydocker.statemachine.context import Context
from mydocker.store.events import Event


class UpToDate(NamedTuple):  # not a dataclass: dataclasses costs a warm pull ~10 ms
    ref: registry_names.Reference
    image: images.ImageView
    digest: str


def check(ctx: Context, text: str, platform: str | None) -> UpToDate | None:
    try:
        ref = registry_names.parse(text)
        wanted = str(platforms.parse_platform(platform) if platform else platforms.host_platform())
    except (registry_names.BadReference, platforms.DistributionError):
        return None
    found = _last_record(ctx, ref.full)
    if found is None:
        return None
    image_id, kind, payload = found
    if kind == "pull" and payload.get("platform") != wanted or kind == "push" and platform is not None:
        return None
    image = images.find(ctx.conn, ref.local_tag) if ref.local_tag else images.find_by_id(ctx.conn, image_id)
    if image is None or image.id != image_id:
        return None
    if not all(core_images.layer_path(ctx.root, layer).is_dir() for layer in image.layers):
        return None
    digest = str(payload.get("digest") or "")
    if not ref.digest:  # a digest names the same bytes for ever: nothing to ask
        try:
            creds = registry_creds.get(ref.auth_key)
        except registry_creds.CredentialsError:
            return None
        if registry_head.manifest_digest(ref.api_host, ref.path, ref.reference, mediatypes.ACCEPT, creds) != digest:
            return None
    where = {"reference": ref.full, "repository": ref.repository, "digest": digest, "platform": wanted}
    with locks.hold(ctx.root, "images"):
        if images.find_by_id(ctx.conn, image_id) is None:  # removed meanwhile
            return None
        images._append(ctx, image_id, [Event("pull", where)])
    return UpToDate(ref, image, digest)


def _last_record(ctx: Context, reference: str) -> tuple[str, str, dict] | None:
    row = ctx.conn.execute(
        "SELECT stream_id, type, payload FROM events WHERE stream_type = 'image' AND type IN ('pull', 'push') "
        "AND json_extract(payload, '$.reference') = ? ORDER BY seq DESC LIMIT 1", (reference,)).fetchone()
    if row is None:
        return None
    return row[0], row[1], json.loads(row[2])
