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
    p.add_argument("-v", "--verbose", action="store_true", help="show detailed information on space usage")
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

    if args.verbose and not args.format:
        sys.stdout.write(verbose(ctx))
        return 0
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


def verbose(ctx: Context) -> str:
    """docker's `system df -v`: one table per kind, each under its title."""
    from mydocker.cli import template
    from mydocker.cli.humanize import human_duration, since
    from mydocker.cli.sizes import human_size
    from mydocker.cli.views import ps_fields
    from mydocker.core import images as core_images
    from mydocker.statemachine import images, queries, volumes

    containers = queries.list_all(ctx.conn, include_stopped=True)
    users: dict[str, int] = {}
    for c in containers:
        users[c.row["image_id"]] = users.get(c.row["image_id"], 0) + 1
    all_images = images.list_images(ctx.conn)
    layer_users: dict[str, int] = {}
    for image in all_images:
        for layer in image.layers:
            layer_users[layer] = layer_users.get(layer, 0) + 1
    sizes: dict[str, int] = {}

    def layer_size(layer: str) -> int:
        if layer not in sizes:
            sizes[layer] = core_images.directory_size(core_images.layer_path(ctx.root, layer))
        return sizes[layer]

    image_rows = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"]]
    for image in all_images:
        shared = sum(layer_size(x) for x in image.layers if layer_users[x] > 1)
        unique = sum(layer_size(x) for x in image.layers if layer_users[x] == 1)
        created = human_duration(since(image.row["created_at"])) + " ago"
        for tag in list(image.tags) or ["<none>:<none>"]:
            repo, _, name = tag.rpartition(":")
            image_rows.append([repo, name, image.id.split(":", 1)[1][:12], created, human_size(shared + unique),
                               human_size(shared), human_size(unique), str(users.get(image.id, 0))])
    container_rows = [["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"]]
    for c in containers:
        f = ps_fields(c, truncate=True)
        size = core_images.directory_size(os.path.join(c.config.get("directory", ""), "upper"))
        container_rows.append([f["ID"], f["Image"], f["Command"], f["LocalVolumes"], human_size(size),
                               f["RunningFor"], f["Status"], f["Names"]])
    volume_rows = [["VOLUME NAME", "LINKS", "SIZE"]]
    for v in volumes.list_all(ctx.conn):
        volume_rows.append([v["id"], str(len(volumes.users(ctx.conn, v["id"]))),
                            human_size(core_images.directory_size(v["mountpoint"]))])
    cache_rows = [["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"]]
    return ("Images space usage:\n\n" + template.table(image_rows)
            + "\nContainers space usage:\n\n" + template.table(container_rows)
            + "\nLocal Volumes space usage:\n\n" + template.table(volume_rows)
            + "\nBuild cache usage: 0B\n\n" + template.table(cache_rows))
