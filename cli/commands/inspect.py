"""mydocker inspect [--format TEMPLATE] [--type container|image] NAME|ID..."""

from __future__ import annotations

import argparse

from mydocker.cli.asof import add_flag
from mydocker.cli.errors import report
from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("inspect", "Return low-level information on containers or images")
    p.add_argument("-f", "--format", help="format the output using a Go template")
    p.add_argument("--type", choices=["container", "image"], help="only look for this kind of object")
    p.add_argument("-s", "--size", action="store_true", help="display total file sizes if the type is container")
    p.add_argument("names", nargs="+", metavar="NAME|ID")
    add_flag(p)
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template
    from mydocker.cli.views import inspect_container, inspect_image
    from mydocker.statemachine import exec_ids, images, queries

    if args.at:
        from mydocker.cli.asof import travel

        travel(ctx.conn, args.at)
    found, code = [], 0
    for ref in args.names:
        view = queries.find(ctx.conn, ref) if args.type != "image" else None
        if view is not None:
            shown = inspect_container(view, exec_ids.running(ctx.conn, view))
            if args.size:
                from mydocker.cli.views import writable_size

                image = images.find_by_id(ctx.conn, view.row["image_id"])
                shown["SizeRw"] = writable_size(view)
                shown["SizeRootFs"] = shown["SizeRw"] + (image.row["size"] if image is not None else 0)
            found.append(shown)
            continue
        image = images.find(ctx.conn, ref) if args.type != "container" else None
        if image is not None:
            from mydocker.statemachine.image_origins import repo_digests

            found.append(inspect_image(image, repo_digests(ctx).get(image.id)))
            continue
        report(f"No such object: {ref}")
        code = 1
    template.print_objects(found, args.format)
    return code
