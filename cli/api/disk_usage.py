"""GET /system/df's body: images, containers and volumes with their sizes, in
dockerd's shape (the docker CLI computes its table from it)."""

from __future__ import annotations

import os
from typing import Any

from mydocker.statemachine.context import Context


def gather(ctx: Context) -> dict[str, Any]:
    from mydocker.cli.api.containers import list_entry
    from mydocker.cli.api.images import image_summary
    from mydocker.core import images as core_images
    from mydocker.statemachine import images, queries, volumes

    all_images = images.list_images(ctx.conn)
    containers = queries.list_all(ctx.conn, include_stopped=True)
    layer_sizes: dict[str, int] = {}
    for image in all_images:
        for layer in image.layers:
            if layer not in layer_sizes:
                layer_sizes[layer] = core_images.directory_size(core_images.layer_path(ctx.root, layer))
    uses: dict[str, int] = {}
    for c in containers:
        uses[c.row["image_id"]] = uses.get(c.row["image_id"], 0) + 1
    image_rows = []
    for image in all_images:
        row = image_summary(image, image.tags, {}, uses.get(image.id, 0))
        others = {layer for other in all_images if other.id != image.id for layer in other.layers}
        row["SharedSize"] = sum(layer_sizes[x] for x in image.layers if x in others)
        image_rows.append(row)
    container_rows = []
    for c in containers:
        entry = list_entry(c, core_images.directory_size(os.path.join(c.config.get("directory", ""), "upper")))
        entry["SizeRootFs"] = entry["SizeRw"]
        container_rows.append(entry)
    volume_rows = [{**volumes.inspect(v), "UsageData": {"Size": core_images.directory_size(v["mountpoint"]),
                                                        "RefCount": len(volumes.users(ctx.conn, v["id"]))}}
                   for v in volumes.list_all(ctx.conn)]
    return {"LayersSize": sum(layer_sizes.values()), "Images": image_rows, "Containers": container_rows,
            "Volumes": volume_rows, "BuildCache": []}
