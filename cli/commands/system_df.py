"""mydocker system df [-v] [--format]: disk used by images, containers, volumes."""

from __future__ import annotations

import argparse
import json
import os
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context

DEFAULT_FORMAT = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}


def parser() -> Parser:
    p = Parser("system df", "Show docker disk usage")
    p.add_argument("--format", help="pretty-print using a Go template")
    return p



def usage(ctx: Context) -> list[dict[str, str]]:
    from mydocker.cli.sizes import human_size
    from mydocker.core import images as core_images
    from mydocker.statemachine import images, queries, volumes
    from mydocker.statemachine.machine import ALIVE

    def pct(part: int, whole: int) -> str:
        return f"{human_size(part)} ({int(part * 100 / whole) if whole else 0}%)"

    all_images = images.list_images(ctx.conn)
    containers = queries.list_all(ctx.conn, include_stopped=True)
    used_images = {c.row["image_id"] for c in containers}
    layer_sizes: dict[str, int] = {}
    for image in all_images:
        for layer in image.layers:
            if layer not in layer_sizes:
                layer_sizes[layer] = core_images.directory_size(core_images.layer_path(ctx.root, layer))
    images_total = sum(layer_sizes.values())  # shared layers count once, as docker's
    used_layers = {layer for image in all_images if image.id in used_images for layer in image.layers}
    images_reclaim = images_total - sum(layer_sizes[x] for x in used_layers)
    sizes = {c.id: core_images.directory_size(os.path.join(c.config.get("directory", ""), "upper")) for c in containers}
    active = [c for c in containers if c.state in ALIVE]
    vols = volumes.list_all(ctx.conn)
    vol_sizes = {v["id"]: core_images.directory_size(v["mountpoint"]) for v in vols}
    vol_active = {v["id"] for v in vols if volumes.users(ctx.conn, v["id"])}
    containers_total = sum(sizes.values())
    vols_total = sum(vol_sizes.values())
    return [
        {"Type": "Images", "TotalCount": str(len(all_images)),
         "Active": str(len(used_images & {i.id for i in all_images})),
         "Size": human_size(images_total), "Reclaimable": pct(images_reclaim, images_total)},
        {"Type": "Containers", "TotalCount": str(len(containers)), "Active": str(len(active)),
         "Size": human_size(containers_total),
         "Reclaimable": pct(containers_total - sum(sizes[c.id] for c in active), containers_total)},
        {"Type": "Local Volumes", "TotalCount": str(len(vols)), "Active": str(len(vol_active)),
         "Size": human_size(vols_total),
         "Reclaimable": pct(vols_total - sum(vol_sizes[v] for v in vol_active), vols_total) if vols_total else "0B"},
        {"Type": "Build Cache", "TotalCount": "0", "Active": "0", "Size": "0B", "Reclaimable": "0B"},
    ]


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template

    found = usage(ctx)
    fmt = template.unescape(args.format) if args.format else DEFAULT_FORMAT
    if fmt == "json":
        sys.stdout.write("".join(json.dumps(r) + "\n" for r in found))
        return 0
    if fmt.startswith("table"):
        body = fmt[len("table"):].strip() or DEFAULT_FORMAT[len("table "):]
        lines = [template.render(body, HEADERS)] + [template.render(body, r) for r in found]
        sys.stdout.write(template.table([line.split("\t") for line in lines]))
        return 0
    sys.stdout.write("".join(template.render(fmt, r) + "\n" for r in found))
    return 0
