"""Images as the log knows them, and the default busybox image built on first use."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from core import locks
from statemachine.context import Context
from statemachine.errors import NoSuchImage, UserError
from store.events import ConcurrencyError, Event, append, now_iso

DEFAULT_IMAGE = "busybox:latest"


@dataclass
class ImageView:
    row: dict[str, Any]

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def config(self) -> dict[str, Any]:
        return json.loads(self.row["config"])

    @property
    def layers(self) -> list[str]:
        return json.loads(self.row["layers"])

    @property
    def tags(self) -> list[str]:
        return json.loads(self.row["tags"])


def normalize(ref: str) -> str:
    """busybox -> busybox:latest (a digest or id is left alone)."""
    if ref.startswith("sha256:") or "@" in ref:
        return ref
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


def find(conn: sqlite3.Connection, ref: str) -> ImageView | None:
    name = normalize(ref)
    row = conn.execute(
        "SELECT images.* FROM images, json_each(images.tags) WHERE json_each.value = ?", (name,)
    ).fetchone()
    if row is None:
        key = ref if ref.startswith("sha256:") else f"sha256:{ref}"
        if len(key) >= 7 + 4 and all(c in "0123456789abcdef" for c in key[7:]):
            rows = conn.execute("SELECT * FROM images WHERE id >= ? AND id < ? LIMIT 2", (key, key + "g")).fetchall()
            row = rows[0] if len(rows) == 1 else None
    return ImageView(dict(row)) if row else None


def resolve(ctx: Context, ref: str) -> ImageView:
    found = find(ctx.conn, ref)
    if found is None and normalize(ref) == DEFAULT_IMAGE:
        found = ensure_default(ctx)
    if found is None:
        raise NoSuchImage(ref)
    return found


def list_images(conn: sqlite3.Connection) -> list[ImageView]:
    return [ImageView(dict(r)) for r in conn.execute("SELECT * FROM images ORDER BY created_at DESC")]


def ensure_default(ctx: Context) -> ImageView:
    """Build busybox:latest from the host's busybox-static once per root."""
    from core import images as core_images  # tarfile, hashlib: only when building

    with locks.hold(ctx.root, "image-default"):
        found = find(ctx.conn, DEFAULT_IMAGE)
        if found:
            return found
        staging = core_images.new_staging(ctx.root)
        try:
            core_images.build_busybox_layer(staging)
        except core_images.ImageError as exc:
            raise UserError(str(exc), 125) from exc
        layer, diff_id, size = core_images.store_layer(ctx.root, staging)
        config = core_images.make_config([diff_id], now_iso(), cmd=["sh"])
        image_id = core_images.image_id(config)
        event = Event("import", {"tags": [DEFAULT_IMAGE], "config": config, "layers": [layer],
                                 "size": size, "created": config["created"], "source": "busybox-static"},
                      actor=ctx.actor())
        try:
            append(ctx.conn, "image", image_id, 0, [event])
        except ConcurrencyError:
            pass  # the same image was registered by a racing command
        found = find(ctx.conn, DEFAULT_IMAGE)
        assert found is not None
        return found
