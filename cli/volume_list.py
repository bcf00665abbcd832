"""volume ls: docker's filters (dangling, driver, label, name), --format and -q."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mydocker.statemachine.context import Context

DEFAULT_FORMAT = "table {{.Driver}}\t{{.Name}}"
HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
           "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Label": None}


def select(ctx: Context, texts: list[str]) -> list[dict[str, Any]]:
    """The volume rows docker's filters (`key=value` texts) keep; the API's list too."""
    from mydocker.cli import list_filters
    from mydocker.statemachine import volumes

    filters = list_filters.parse(texts, ("dangling", "driver", "label", "name"))
    rows = volumes.list_all(ctx.conn)
    in_use = {row["id"] for row in rows if volumes.users(ctx.conn, row["id"])} if "dangling" in filters else set()
    matchers: dict[str, Any] = {
        "dangling": lambda r, v: (r["id"] not in in_use) == list_filters.BOOLS[v.lower()],
        "driver": lambda r, v: r["driver"] == v,
        "label": lambda r, v: list_filters.label_matches(json.loads(r["labels"]), v),
        "name": lambda r, v: v in r["id"],
    }
    return list_filters.select(rows, filters, matchers)


def list_volumes(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template

    rows = select(ctx, args.filter)
    if args.quiet:
        sys.stdout.write("".join(f"{r['id']}\n" for r in rows))
        return 0
    shown = []
    for r in rows:
        labels = json.loads(r["labels"])
        item = template.Struct(Driver=r["driver"], Name=r["id"], Scope="local", Mountpoint=r["mountpoint"],
                               Labels=",".join(f"{k}={v}" for k, v in sorted(labels.items())),
                               Label=lambda key, labels=labels: labels.get(key, ""), Links="N/A", Size="N/A")
        item.go_type = "*formatter.volumeContext"
        shown.append(item)
    sys.stdout.write(template.format_list(args.format, shown, DEFAULT_FORMAT, HEADERS))
    return 0
