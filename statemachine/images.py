"""Images as the log knows them, and the default busybox image built on first use."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

from mydocker.core import images as core_images
from mydocker.core import locks, timestamps
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import Conflict, CreateFailed, InvalidArgument, NoSuchImage, UserError
from mydocker.statemachine.lookup import find_row, is_hex
from mydocker.statemachine.rowview import Column, RowView
from mydocker.store.events import Event, append, now_iso, stream_version

DEFAULT_IMAGE = "busybox:latest"


class ImageView(RowView):
    __slots__ = ()
    id = Column[str]("id")
    config = Column[dict[str, Any]]("config", decode=True)
    layers = Column[list[str]]("layers", decode=True)
    tags = Column[list[str]]("tags", decode=True)


def normalize(ref: str) -> str:
    """busybox -> busybox:latest (a digest or id is left alone)."""
    if ref.startswith("sha256:") or "@" in ref:
        return ref
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


def find(conn: sqlite3.Connection, ref: str) -> ImageView | None:
    """By id, then tag, then unique id prefix of at least 4 digits; an ambiguous
    prefix finds nothing (docker: No such image)."""
    key = ref if ref.startswith("sha256:") else f"sha256:{ref}"
    row = find_row(conn, "images", ref, name=normalize(ref),
                   name_where="EXISTS (SELECT 1 FROM json_each(images.tags) WHERE json_each.value = ?)",
                   prefix=key if len(key) >= 7 + 4 and is_hex(key[7:]) else None)
    return ImageView(row) if row else None


def resolve(ctx: Context, ref: str) -> ImageView:
    found = find(ctx.conn, ref)
    if found is None and normalize(ref) == DEFAULT_IMAGE:
        found = ensure_default(ctx)
    if found is None:
        raise NoSuchImage(ref)
    return found


def list_images(conn: sqlite3.Connection) -> list[ImageView]:
    return [ImageView(dict(r)) for r in conn.execute("SELECT * FROM images ORDER BY created_at DESC")]


def build_parents(conn: sqlite3.Connection) -> set[str]:
    """Images a build step was built on: docker's intermediate images."""
    return {r[0] for r in conn.execute(
        "SELECT DISTINCT json_extract(payload, '$.parent') FROM events "
        "WHERE stream_type = 'image' AND type = 'build'") if r[0]}


def ensure_default(ctx: Context) -> ImageView:
    """Build busybox:latest from the host's busybox-static once per root."""
    with locks.hold(ctx.root, "image-default"):
        found = find(ctx.conn, DEFAULT_IMAGE)
        if found:
            return found
        staging = core_images.new_staging(ctx.root)
        try:
            core_images.build_busybox_layer(staging)
        except core_images.ImageError as exc:
            raise CreateFailed(str(exc)) from exc
        layer, diff_id, size = core_images.store_layer(ctx.root, staging)
        config = core_images.make_config([diff_id], core_images.busybox_created(), cmd=["sh"])
        # Same bytes, same id: after `rmi busybox` this stream already has events, so
        # register appends at its version (and a kept, untagged copy only gets the tag).
        return register(ctx, "import", core_images.image_id(config), config, [layer], size,
                        [DEFAULT_IMAGE], {"source": "busybox-static"})


def default_ever_built(conn: sqlite3.Connection) -> bool:
    """Whether this root ever had the default image: `images` builds it on a root's
    first use only, so that after `rmi busybox` it stays gone until a run needs it."""
    return conn.execute(
        "SELECT 1 FROM events WHERE stream_type = 'image' AND type = 'import'"
        " AND json_extract(payload, '$.source') = 'busybox-static' LIMIT 1").fetchone() is not None


# --- changing images: every change is an event on the image's stream ---------


def find_by_id(conn: sqlite3.Connection, image_id: str) -> ImageView | None:
    row = conn.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()
    return ImageView(dict(row)) if row else None


def check_tag(ref: str) -> str:
    """repo[:tag] as docker accepts it, normalized to repo:tag."""
    name = normalize(ref)
    repo, _, tag = name.rpartition(":")
    if not _REPO.match(repo) or not _TAG.match(tag):
        raise InvalidArgument(f"invalid reference format: {ref}")
    return name


_REPO = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def register(ctx: Context, event_type: str, image_id: str, config: dict[str, Any], layers: list[str],
             size: int, tags: list[str], extra: dict[str, Any] | None = None) -> ImageView:
    """Record a new image (import, load, commit) or, if it exists, its new tags.

    A name moves: its old image gets `untag` first. One lock serializes naming
    changes, which touch two streams."""
    with locks.hold(ctx.root, "images"):
        for tag in tags:
            holder = find(ctx.conn, tag)
            if holder is not None and holder.id != image_id:
                _append(ctx, holder.id, [Event("untag", {"name": tag})])
        existing = find_by_id(ctx.conn, image_id)
        if existing is None:
            payload = {"tags": sorted(set(tags)), "config": config, "layers": layers, "size": size,
                       "created": _timestamp(config.get("created")), **(extra or {})}
            _append(ctx, image_id, [Event(event_type, payload)])
        else:
            new = [t for t in dict.fromkeys(tags) if t not in existing.tags]
            if new:
                _append(ctx, image_id, [Event("tag", {"name": t}) for t in new])
        found = find_by_id(ctx.conn, image_id)
        assert found is not None
        return found


def _timestamp(created: Any) -> str:
    """A config's `created` (any RFC 3339: nanoseconds, offsets) in the log's form."""
    return timestamps.from_rfc3339(created) or now_iso()


def _append(ctx: Context, image_id: str, events: list[Event]) -> None:
    for event in events:
        event.actor = event.actor or ctx.actor()
    append(ctx.conn, "image", image_id, stream_version(ctx.conn, image_id), events)


def tag(ctx: Context, source: str, target: str) -> None:
    image = resolve(ctx, source)
    name = check_tag(target)
    register(ctx, "tag", image.id, image.config, image.layers, image.row["size"], [name])


def users(conn: sqlite3.Connection, image_id: str) -> list[str]:
    """Containers (any state but removed) created from the image."""
    return [r[0] for r in conn.execute("SELECT id FROM containers WHERE image_id = ? ORDER BY id", (image_id,))]


def remove(ctx: Context, ref: str, force: bool = False, prune: bool = True) -> list[str]:
    """docker rmi: a name of a multi-tagged image only untags; otherwise the image
    goes, refused while a container uses it (with -f it is only untagged then).
    prune: its untagged build parents go too, as docker's do (not --no-prune)."""
    with locks.hold(ctx.root, "images"):
        lines = _remove(ctx, ref, force)
        if prune and lines and lines[-1].startswith("Deleted: "):
            lines += _prune_parents(ctx, lines[-1].removeprefix("Deleted: "))
        return lines


def _build_parent(conn: sqlite3.Connection, image_id: str) -> str | None:
    row = conn.execute("SELECT json_extract(payload, '$.parent') FROM events WHERE stream_type = 'image' "
                       "AND stream_id = ? AND type = 'build' ORDER BY seq LIMIT 1", (image_id,)).fetchone()
    return row[0] if row and row[0] else None


def _prune_parents(ctx: Context, removed: str) -> list[str]:
    """Each build parent that is left untagged, unused and childless, up the chain."""
    lines: list[str] = []
    parent = _build_parent(ctx.conn, removed)
    while parent is not None:
        image = find_by_id(ctx.conn, parent)
        if image is None or image.tags or users(ctx.conn, parent):
            break
        children = {r[0] for r in ctx.conn.execute(
            "SELECT DISTINCT events.stream_id FROM events JOIN images ON images.id = events.stream_id "
            "WHERE events.stream_type = 'image' AND events.type = 'build' "
            "AND json_extract(events.payload, '$.parent') = ?", (parent,))}
        if children:
            break
        _append(ctx, parent, [Event("delete", {"tags": [], "layers": image.layers})])
        _collect_layers(ctx, image.layers)
        core_images.remove_config(ctx.root, parent)
        lines.append(f"Deleted: {parent}")
        parent = _build_parent(ctx.conn, parent)
    return lines


def _remove(ctx: Context, ref: str, force: bool) -> list[str]:
    image = find(ctx.conn, ref)
    if image is None:
        raise NoSuchImage(ref)
    by_name = normalize(ref) in image.tags
    if by_name and len(image.tags) > 1:
        _append(ctx, image.id, [Event("untag", {"name": normalize(ref)})])
        return [f"Untagged: {normalize(ref)}"]
    if not by_name and len(image.tags) > 1 and not force:
        raise Conflict(f"conflict: unable to delete {image.id.split(':')[1][:12]} (must be forced) - "
                       "image is referenced in multiple repositories")
    holders = users(ctx.conn, image.id)
    lines = [f"Untagged: {t}" for t in image.tags]
    if holders:
        if not force:
            what = f'repository reference "{ref}"' if by_name else image.id.split(":")[1][:12]
            raise Conflict(f"conflict: unable to remove {what} (must force) - container "
                           f"{holders[0][:12]} is using its referenced image {image.id.split(':')[1][:12]}")
        # docker -f: the name goes, the image stays for the containers that run it.
        _append(ctx, image.id, [Event("untag", {"name": t}) for t in image.tags])
        return lines
    _append(ctx, image.id, [Event("delete", {"tags": image.tags, "layers": image.layers})])
    _collect_layers(ctx, image.layers)
    core_images.remove_config(ctx.root, image.id)
    return [*lines, f"Deleted: {image.id}"]


def _collect_layers(ctx: Context, candidates: list[str]) -> None:
    """Delete the layers no remaining image or container uses."""
    used: set[str] = set()
    for (layers,) in ctx.conn.execute("SELECT layers FROM images"):
        used.update(json.loads(layers))
    for (config,) in ctx.conn.execute("SELECT config FROM containers"):
        used.update(os.path.basename(p) for p in json.loads(config)["spec"].get("layers", []))
    for layer in candidates:
        if layer not in used:
            core_images.remove_layer(ctx.root, layer)


def import_tarball(ctx: Context, fileobj: Any, ref: str | None, message: str = "",
                   changes: dict[str, Any] | None = None, source: str = "") -> ImageView:
    from mydocker.core import safetar

    tags = [check_tag(ref)] if ref else []
    try:
        layer, diff, size = core_images.import_layer(ctx.root, fileobj)
    except (safetar.UnsafeArchive, core_images.ImageError) as exc:
        raise UserError(str(exc)) from None
    changes = dict(changes or {})
    config = core_images.make_config([diff], now_iso(), cmd=changes.pop("cmd", None), **changes)
    if message:
        config["comment"] = message
    raw = core_images.canonical_json(config)
    image_id = core_images.store_config(ctx.root, raw)
    return register(ctx, "import", image_id, config, [layer], size, tags,
                    {"source": source, "message": message})


def load(ctx: Context, fileobj: Any, progress: Any = None) -> list[tuple[ImageView, list[str]]]:
    """Every image in the archive; (image, its names in the archive). progress:
    imagearchive.LayerProgress, for each layer unpacked."""
    from mydocker.core import imagearchive, safetar

    try:
        loaded = imagearchive.load(ctx.root, fileobj, progress)
    except (safetar.UnsafeArchive, core_images.ImageError) as exc:
        raise UserError(str(exc)) from None
    out = []
    for item in loaded:
        tags = []
        for name in item.tags:
            try:
                tags.append(check_tag(name))
            except UserError:
                continue  # a name we cannot hold does not make the image unusable
        view = register(ctx, "load", item.id, item.config, item.layers, item.size, tags)
        out.append((view, tags))
    return out


def save(ctx: Context, refs: list[str], out: Any) -> None:
    from mydocker.core import imagearchive

    items = []
    for ref in refs:
        image = resolve(ctx, ref)
        raw = core_images.config_bytes(ctx.root, image.id, image.config)
        # docker: saved by name, the archive names it so; saved by id, it names nothing
        tags = [normalize(ref)] if normalize(ref) in image.tags else []
        items.append(imagearchive.SaveItem(image.id, raw, image.layers, tags))
    try:
        imagearchive.save(ctx.root, items, out)
    except core_images.ImageError as exc:
        raise UserError(str(exc)) from None
    for item in items:
        _append(ctx, item.id, [Event("save", {"tags": item.tags})])


def commit_container(ctx: Context, ref: str, target: str | None, message: str = "", author: str = "",
                     pause: bool = True, progress: Any = None) -> ImageView:
    """The container's upper dir as a new top layer on its image's layers.
    progress: called with (bytes written, bytes in the upper dir) while it is copied.

    A running container is frozen (freezer cgroup) while its upper dir is copied,
    as docker pauses it, so the layer is one consistent moment."""
    from mydocker.core import cgroups
    from mydocker.statemachine import aggregate, queries
    from mydocker.statemachine.machine import may

    tags = [check_tag(target)] if target else []
    view = queries.get(ctx.conn, ref)
    spec = view.config["spec"]
    base = find_by_id(ctx.conn, view.row["image_id"])
    base_config = base.config if base else {"config": {}, "rootfs": {"diff_ids": []}}
    base_layers = [os.path.basename(p) for p in spec.get("layers", [])]
    upper = os.path.join(view.config["directory"], "upper")
    frozen = False
    if pause and may(view, "pause"):  # a paused one is frozen already
        frozen = cgroups.freeze(spec["cgroups"])
    try:
        report = None
        if progress is not None:
            total = core_images.directory_size(Path(upper))

            def report(done: int) -> None:
                progress(done, total)

        layer, diff, size = core_images.commit_layer(ctx.root, Path(upper), report)
    finally:
        if frozen:
            cgroups.thaw(spec["cgroups"])
    created = now_iso()
    image_cfg = dict(base_config.get("config") or {})
    env = [e for e in spec["env"] if not e.startswith("HOSTNAME=")]
    image_cfg.update(Cmd=view.config.get("cmd") or None, Entrypoint=view.config.get("entrypoint") or None,
                     Env=env, WorkingDir=spec.get("workdir", "") if spec.get("workdir") != "/" else
                     image_cfg.get("WorkingDir", ""))
    history = list(base_config.get("history") or [])
    history.append({"created": created, "created_by": " ".join(view.command), "comment": message,
                    **({"author": author} if author else {})})
    config = {
        **base_config,
        "created": created,
        "config": image_cfg,
        "container": view.id,
        "comment": message,
        "author": author,
        "history": history,
        "rootfs": {"type": "layers", "diff_ids": [*base_config.get("rootfs", {}).get("diff_ids", []), diff]},
    }
    layers = [*base_layers, layer]
    total = sum(core_images.directory_size(core_images.layer_path(ctx.root, x)) for x in layers)
    image_id = core_images.store_config(ctx.root, core_images.canonical_json(config))
    image = register(ctx, "commit", image_id, config, layers, total, tags,
                     {"container": view.id, "comment": message, "author": author})
    aggregate.append(ctx, view.id, [Event("commit", {"image": image_id, "tags": tags, "comment": message,
                                                     "author": author, "layer": layer, "paused": frozen})])
    return image


def export_container(ctx: Context, ref: str, out_fd: int) -> None:
    """The container's merged filesystem (not its volumes) as a tar on out_fd."""
    import tempfile

    from mydocker.core import rootfs
    from mydocker.statemachine import queries

    view = queries.get(ctx.conn, ref)
    spec = view.config["spec"]
    directory = view.config["directory"]
    upper = os.path.join(directory, "upper")
    if not os.path.isdir(upper):
        os.makedirs(upper, mode=0o755)  # never started: nothing above the image
    scratch = tempfile.mkdtemp(prefix="export-", dir=directory)
    ctx.close()  # no SQLite across fork
    try:
        rootfs.export_merged(spec.get("layers", []), upper, out_fd, scratch)
    except OSError as exc:
        raise UserError(str(exc)) from None
    finally:
        os.rmdir(scratch)
