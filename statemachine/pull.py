"""pull: an image from a registry into the shared layer store, then a `pull`
event on the image's stream (its reference and digest: where it came from).

Layers are fetched 3 at a time (docker's default). Each layer is worked on under
the flock layer-<diff hex>, so two pulls that need one layer download and unpack
it once: the second finds it stored ("Already exists"). Nothing is registered
until every layer is verified and unpacked; a failure leaves no image, and only
whole layers (which the next pull reuses) or a partial download (which it resumes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mydocker.core import crashpoints, distribution, layers, locks, registry_creds, registry_names
from mydocker.core import images as core_images
from mydocker.core import registry_client as rc
from mydocker.statemachine import images
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import UserError
from mydocker.store.events import Event

PARALLEL = 3
# (short id, status, bytes so far, total bytes): what the CLI turns into docker's lines.
Progress = Callable[[str, str, int | None, int | None], None]


@dataclass
class PullResult:
    ref: registry_names.Reference
    image: images.ImageView
    digest: str  # what the reference resolved to (the index's, for a multi-platform image)
    up_to_date: bool  # the name already named this image and nothing was downloaded


def parse_reference(text: str) -> registry_names.Reference:
    try:
        return registry_names.parse(text)
    except registry_names.BadReference as exc:
        raise UserError(str(exc)) from None


def client_for(ref: registry_names.Reference, actions: str, creds: tuple[str, str] | None = None) -> rc.Client:
    """creds: given by the caller (the Engine API's X-Registry-Auth), else docker's config.json."""
    if creds is None:
        try:
            creds = registry_creds.get(ref.auth_key)
        except registry_creds.CredentialsError as exc:
            raise UserError(str(exc)) from None
    try:
        return rc.Client(ref.api_host, ref.path, creds, actions)
    except rc.RegistryError as exc:  # certs.d is unreadable or incomplete
        raise UserError(str(exc)) from None


def user_error(ref: registry_names.Reference, exc: Exception, verb: str = "pull") -> UserError:
    """A registry's answer in docker's words."""
    if isinstance(exc, rc.RegistryError):
        if verb == "pull" and (exc.code in ("NAME_UNKNOWN", "UNAUTHORIZED", "DENIED") or exc.status == 403):
            return UserError(f"pull access denied for {ref.familiar_repository}, repository does not exist or "
                             f"may require 'docker login': {exc}")
        if verb == "pull" and exc.code in ("MANIFEST_UNKNOWN", "NOT_FOUND"):
            return UserError(f"manifest for {ref.familiar} not found: {exc}")
    return UserError(str(exc))


def all_tags_repository(text: str) -> registry_names.Reference:
    """The repository `pull -a` / `push -a` name: no tag or digest may be given."""
    try:
        ref = registry_names.parse(text, default_tag=False)
    except registry_names.BadReference as exc:
        raise UserError(str(exc)) from None
    if ref.tag or ref.digest:
        raise UserError("tag can't be used with --all-tags/-a")
    return ref


def list_tags(text: str) -> tuple[registry_names.Reference, list[str]]:
    """`pull -a`: the repository and its tags in the registry, sorted as docker."""
    ref = all_tags_repository(text)
    client = client_for(ref, "pull")
    try:
        return ref, sorted(set(client.tags()))
    except rc.RegistryError as exc:
        raise user_error(ref, exc) from None
    finally:
        client.close()


def pull(ctx: Context, text: str, platform: str | None = None, progress: Progress | None = None,
         resolved_hook: Callable[[], None] | None = None, creds: tuple[str, str] | None = None) -> PullResult:
    """resolved_hook: called once the registry has named the image (docker's
    "Pulling from" line comes then, not before an unknown name fails)."""
    ref = parse_reference(text)
    try:
        wanted = distribution.parse_platform(platform) if platform else distribution.host_platform()
    except distribution.DistributionError as exc:
        raise UserError(str(exc)) from None
    report = progress or (lambda *_: None)
    _ = ctx.conn  # makes the root (and its database) before any lock or download lives in it
    core_images.layers_dir(ctx.root).mkdir(mode=0o700, exist_ok=True)
    client = client_for(ref, "pull", creds)
    try:
        resolved = distribution.resolve(client, ref.reference, wanted)
        config_raw = client.blob_bytes(resolved.config["digest"])
        try:
            config = json.loads(config_raw)
        except ValueError:
            raise distribution.DistributionError("invalid image config") from None
        diff_ids = distribution.diff_ids(config, len(resolved.layers))
        if resolved_hook:
            resolved_hook()
        # docker says nothing of the layers of an image it has already
        stored = images.find_by_id(ctx.conn, "sha256:" + hashlib.sha256(config_raw).hexdigest()) is not None
        quiet_layers: Progress = (lambda *_: None) if stored else report
        downloaded = _fetch_layers(ctx.root, client, resolved.layers, diff_ids, quiet_layers)
        digest = resolved.index_digest or resolved.manifest.digest
        crashpoints.crash("pull-register")
        image, had = _register(ctx, ref, config, config_raw, diff_ids, digest, str(wanted), resolved.manifest)
        # An rmi between our unpacking and our registering may have collected a layer
        # no image used yet. Once registered, the image holds its layers against any
        # later rmi (both serialize on the images lock), so fetching what is missing
        # now leaves it whole for good.
        missing = [i for i, d in enumerate(diff_ids) if not layers.layer_exists(ctx.root, layers.hex_of(d))]
        if missing:
            _fetch_layers(ctx.root, client, [resolved.layers[i] for i in missing], [diff_ids[i] for i in missing],
                          report)
    except (rc.RegistryError, distribution.DistributionError, core_images.ImageError) as exc:
        raise user_error(ref, exc) from None
    except OSError as exc:  # the disk: ENOSPC, EIO... (what was written stays to be resumed or pruned)
        raise UserError(f"failed to register layer: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) \
            from None
    except Exception as exc:
        from mydocker.core import safetar

        if isinstance(exc, safetar.UnsafeArchive):
            raise UserError(f"failed to register layer: {exc}") from None
        raise
    finally:
        client.close()
    return PullResult(ref, image, digest, had and not downloaded)


def _fetch_layers(root: str, client: rc.Client, descriptors: list[dict[str, Any]], diff_ids: list[str],
                  report: Progress) -> bool:
    work = []
    for desc, diff in zip(descriptors, diff_ids, strict=True):
        short = layers.hex_of(desc["digest"])[:12]
        if layers.layer_exists(root, layers.hex_of(diff)):
            report(short, "Already exists", None, None)
        else:
            report(short, "Pulling fs layer", None, None)
            work.append((short, desc, layers.hex_of(diff)))
    if not work:
        return False
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = [pool.submit(_fetch_layer, root, client, short, desc, layer, report) for short, desc, layer in work]
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return True


def _fetch_layer(root: str, client: rc.Client, short: str, desc: dict[str, Any], layer: str,
                 report: Progress) -> None:
    digest, size = desc["digest"], int(desc["size"])
    with locks.hold(root, f"layer-{layer}"):
        if layers.layer_exists(root, layer):  # a concurrent pull stored it while we waited
            report(short, "Already exists", None, None)
            return
        partial = layers.partial_path(root, digest)
        partial.parent.mkdir(mode=0o700, exist_ok=True)
        with locks.hold(root, f"blob-{layers.hex_of(digest)}"):
            client.download(digest, size, partial, lambda n: report(short, "Downloading", n, size))
            report(short, "Verifying Checksum", None, None)
            report(short, "Download complete", None, None)
            report(short, "Extracting", size, size)
            layers.unpack(root, layer, partial)
            layers.keep_blob(root, layer, partial, digest, desc.get("mediaType", ""),
                             f"{client.host}/{client.repository}")
        report(short, "Pull complete", None, None)


def _register(ctx: Context, ref: registry_names.Reference, config: dict[str, Any], config_raw: bytes,
              diff_ids: list[str], digest: str, platform: str,
              manifest: rc.Manifest) -> tuple[images.ImageView, bool]:
    """The image, and whether the reference named it already. The platform's
    manifest is kept in the event as the registry sent it, so a push of the image
    sends the very same bytes (and the digest stays what it was)."""
    layer_names = [layers.hex_of(d) for d in diff_ids]
    size = sum(core_images.directory_size(core_images.layer_path(ctx.root, x)) for x in dict.fromkeys(layer_names))
    image_id = core_images.store_config(ctx.root, config_raw)
    tags = [ref.local_tag] if ref.local_tag else []
    where = {"reference": ref.full, "repository": ref.repository, "digest": digest, "platform": platform,
             "manifest": {"digest": manifest.digest, "mediaType": manifest.media_type,
                          "raw": manifest.raw.decode("utf-8", "surrogateescape")}}
    existed = images.find_by_id(ctx.conn, image_id) is not None
    named = images.find(ctx.conn, tags[0]) if tags else images.find_by_id(ctx.conn, image_id)
    view = images.register(ctx, "pull", image_id, config, layer_names, size, tags, where)
    if existed:  # the creating event already says where a new image came from
        with locks.hold(ctx.root, "images"):
            images._append(ctx, image_id, [Event("pull", where)])
        view = images.find_by_id(ctx.conn, image_id) or view
    return view, named is not None and named.id == image_id
