"""Layers in the store that no image or container uses (what a pull killed
before it registered its image leaves, or a failed load): `system check`
reports them, `system prune` removes them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mydocker.core import images as core_images
from mydocker.core import layers
from mydocker.statemachine.context import Context


def used_layers(ctx: Context) -> set[str]:
    used: set[str] = set()
    for (names,) in ctx.conn.execute("SELECT layers FROM images"):
        used.update(json.loads(names))
    for (config,) in ctx.conn.execute("SELECT config FROM containers"):
        used.update(os.path.basename(p) for p in json.loads(config)["spec"].get("layers", []))
    return used


def unused_layers(ctx: Context) -> list[Path]:
    """Layer directories (and blobs left without one) nobody uses or is working on."""
    directory = core_images.layers_dir(ctx.root)
    if not directory.is_dir():
        return []
    used = used_layers(ctx)
    found = []
    for path in sorted(directory.iterdir()):
        name = path.name.split(".", 1)[0]
        if path.name.startswith(".") or len(name) != 64 or name in used:
            continue
        if path.is_dir() or not (directory / name).is_dir():  # a blob or kept tar goes with its directory
            if layers.is_free(ctx.root, f"layer-{name}"):
                found.append(path)
    return found


def remove(path: Path) -> None:
    if path.is_dir():
        core_images.remove_layer(path.parent.parent, path.name)  # with its blob or kept tar
    else:
        layers.remove_stale(path)
