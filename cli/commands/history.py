"""mydocker history CONTAINER: a container's whole life, one line per event.

Works for removed containers too: the log keeps their streams."""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("history", "Show a container's whole life from the event log")
    p.add_argument("--format", help="a Go template over {Version, Time, Event, By, User, Details}, or json")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output (image history)")
    p.add_argument("container", metavar="CONTAINER|IMAGE")
    return p


def details(payload: dict) -> str:
    keys = ("exit_code", "reason", "signal", "oom_killed", "pid", "name", "image", "timeout")
    return " ".join(f"{k}={payload[k]}" for k in keys if payload.get(k) not in (None, "", False))


def run(args: argparse.Namespace, ctx: Context) -> int:
    import json

    from mydocker.cli import template
    from mydocker.statemachine.audit import history_streams
    from mydocker.statemachine.errors import NoSuchContainer
    from mydocker.store.events import read_stream

    streams = history_streams(ctx.conn, args.container)
    if not streams:
        if _image_history(ctx, args):
            return 0
        raise NoSuchContainer(args.container)
    if len(streams) > 1 and not all(s.startswith(args.container) for s in streams[:1]):
        sys.stderr.write(f"note: {len(streams)} containers have had this name; showing the newest\n")
    rows = []
    for event in read_stream(ctx.conn, streams[0]):
        rows.append({"Version": event.version, "Time": event.time, "Event": event.type,
                     "By": event.actor.get("command", ""), "User": event.actor.get("user", ""),
                     "Pid": event.actor.get("pid", ""), "Details": details(event.payload)})
    if args.format == "json":
        sys.stdout.write("".join(json.dumps(r) + "\n" for r in rows))
    elif args.format:
        fmt = template.unescape(args.format)
        sys.stdout.write("".join(template.render(fmt, r) + "\n" for r in rows))
    else:
        table = [["VERSION", "TIME", "EVENT", "BY", "DETAILS"]]
        table += [[str(r["Version"]), r["Time"], r["Event"], r["By"], r["Details"]] for r in rows]
        sys.stdout.write(template.table(table))
    return 0


def _image_history(ctx: Context, args: argparse.Namespace) -> bool:
    """docker history IMAGE, for a name that is no container's."""
    from mydocker.cli import template
    from mydocker.cli.commands.images import human_size
    from mydocker.cli.humanize import human_duration, since
    from mydocker.statemachine.build import history

    rows = history(ctx, args.container)
    if rows is None:
        return False
    table = [["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]]
    for r in rows:
        image = r["ID"] if args.no_trunc or r["ID"] == "<missing>" else r["ID"].split(":", 1)[1][:12]
        by = r["CreatedBy"]
        if not args.no_trunc and len(by) > 45:
            by = by[:44] + "\u2026"
        created = human_duration(since(r["CreatedAt"])) + " ago" if r["CreatedAt"] else ""
        table.append([image, created, by, human_size(r["Size"]), r["Comment"]])
    sys.stdout.write(template.table(table))
    return True
