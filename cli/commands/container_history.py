"""mydocker container history CONTAINER: a container's whole life, one line per event.

Works for removed containers too: the log keeps their streams."""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("container history", "Show a container's whole life from the event log")
    p.add_argument("--format", help="a Go template over {Version, Time, Event, By, User, Details}, or json")
    p.add_argument("container")
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
