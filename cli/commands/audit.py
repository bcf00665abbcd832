"""mydocker audit serve [--host H] [--port P]
   mydocker audit export [--since T] [--until T] [-f k=v]... [--format jsonl|csv] [--follow]

serve: the log in datasette, read-only, with the audit views documented, canned queries
and a timeline of container lifetimes; on 127.0.0.1 unless --host says otherwise.
export: the container_events view for a log shipper, as JSON lines or CSV, filtered as
`events` filters; --follow keeps streaming what is appended."""

from __future__ import annotations

import argparse
import errno
import json
import socket
import sqlite3
import sys
import time
from collections.abc import Iterator
from typing import Any

from mydocker.cli.commands.events import FOLLOW_POLL, parse_filter, parse_when
from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context

VIEW_SQL = "SELECT * FROM container_events WHERE seq > :after AND seq <= :upto"


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise UsageError(f"invalid port {text!r}: must be 0-65535")
    return int(text)


def parser() -> Parser:
    p = Parser("audit", "Look at the event log: a read-only web page, or an export")
    sub = p.add_subparsers(dest="action", metavar="COMMAND", parser_class=Parser)
    serve = sub.add_parser("serve", help="serve the log read-only with datasette (views, canned queries, timeline)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; any other is reachable by others)")
    serve.add_argument("--port", type=_port, default=8001, help="port (default 8001; 0: any free one)")
    export = sub.add_parser("export", help="the container_events view as JSON lines or CSV")
    export.add_argument("--since", type=parse_when, help="events after this time or duration ago (10m, 1h)")
    export.add_argument("--until", type=parse_when, help="events before this time")
    export.add_argument("-f", "--filter", type=parse_filter, action="append", default=[], metavar="KEY=VALUE",
                        help="container=, event=, image= (as events)")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--follow", action="store_true", help="then stream what is appended, until interrupted")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.action == "serve":
        return _serve(args, ctx)
    if args.action == "export":
        return _export(args, ctx)
    raise UsageError("audit needs a command: serve or export")


def _serve(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.errors import CliError
    from mydocker.store.db import db_path

    ctx.conn  # noqa: B018 - makes and migrates the root as every reading command does, so the views exist
    ctx.close()  # the server holds only its own read-only connections
    from mydocker.cli.audit_site import server

    try:
        sock = server.listen(args.host, args.port)
    except socket.gaierror:
        raise UsageError(f"invalid --host {args.host!r}: not an address of this host") from None
    except OSError as exc:
        if exc.errno != errno.EADDRNOTAVAIL:
            raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
        raise UsageError(f"invalid --host {args.host!r}: not an address of this host") from None
    if not server.is_loopback(args.host):
        sys.stderr.write(f"WARNING: serving the audit log on {args.host}: anyone who reaches this address "
                         "reads every container's history (commands, environment, users)\n")
    with sock:
        server.serve(db_path(ctx.root), sock)
    return 0


def rows(conn: sqlite3.Connection, args: argparse.Namespace, after_seq: int, upto_seq: int
         ) -> Iterator[tuple[Any, ...]]:
    """container_events rows of the events in (after_seq, upto_seq] that `events` with the
    same filters shows."""
    params = {"after": after_seq, "upto": upto_seq, "since": args.since, "until": args.until}
    if not args.filter:  # the whole view: SQL alone, without decoding every event
        sql = VIEW_SQL + (" AND time >= :since" if args.since else "") + (" AND time <= :until" if args.until else "")
        yield from conn.execute(sql + " ORDER BY seq", params)
        return
    from mydocker.statemachine.audit import Filters, matching

    view = conn.cursor().execute(VIEW_SQL + " ORDER BY seq", params)
    pending: tuple[Any, ...] | None = None
    for event, _ in matching(conn, Filters(args.filter), args.since, args.until, after_seq):
        if event.seq > upto_seq:
            return
        if event.stream_type != "container":
            continue
        # Both walk the log in seq order: advance the view to this event's row.
        while pending is None or pending[0] < event.seq:
            pending = view.fetchone()
            if pending is None:
                return
        if pending[0] == event.seq:
            yield pending


def _export(args: argparse.Namespace, ctx: Context) -> int:
    conn = ctx.conn
    columns = [d[0] for d in conn.execute("SELECT * FROM container_events LIMIT 0").description]
    payload = columns.index("payload")
    if args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)

        def write(row: tuple[Any, ...]) -> None:
            writer.writerow(row)
    else:
        others = [i for i, c in enumerate(columns) if c != "payload"]

        def write(row: tuple[Any, ...]) -> None:
            # payload as an object, not a string holding one: it is JSON text already
            head = json.dumps({columns[i]: row[i] for i in others})
            sys.stdout.write(f'{head[:-1]}, "payload": {row[payload]}}}\n')

    last_seq = 0
    version = conn.execute("PRAGMA data_version").fetchone()[0]
    while True:
        newest = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        for row in rows(conn, args, last_seq, newest):
            write(row)
        sys.stdout.flush()
        last_seq = newest
        # As events: --follow streams until interrupted, or until --until has come.
        while True:
            if not args.follow or (args.until is not None and args.until <= _now()):
                return 0
            seen = conn.execute("PRAGMA data_version").fetchone()[0]
            if seen != version:
                version = seen
                break
            time.sleep(FOLLOW_POLL)


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
