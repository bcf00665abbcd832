"""mydocker events [--since T] [--until T] [-f|--filter k=v]... [--format F]

As docker's: without --until it prints what --since asks for, then streams new
events until interrupted; with --until it stops there."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from mydocker.cli.parsing import Parser, UsageError
from mydocker.core import timestamps
from mydocker.statemachine.context import Context

FOLLOW_POLL = 0.1  # seconds; PRAGMA data_version makes each look nearly free
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(text: str) -> str:
    """10m / 1h30m-style durations (ago), unix seconds, or RFC 3339 / ISO times -> log time."""
    try:
        when = _when(text.strip())
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"invalid time {text!r}: use a duration (10m, 1h) or a timestamp") from None
    return timestamps.format_utc(when)


def _when(raw: str) -> datetime:
    total, rest = 0.0, raw
    while rest:
        m = re.match(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", rest, re.ASCII)
        if not m:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        rest = rest[m.end():]
    if raw and not rest:
        return datetime.now(UTC) - timedelta(seconds=total)
    if re.fullmatch(r"\d+(\.\d+)?", raw, re.ASCII):
        return datetime.fromtimestamp(float(raw), UTC)
    when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def parse_filter(text: str) -> tuple[str, str]:
    from mydocker.statemachine.audit import Filters

    key, eq, value = text.partition("=")
    if not eq:
        raise UsageError(f'invalid argument "{text}" for "-f, --filter" flag: bad format of filter (expected '
                         "name=value)")
    key = key.strip().lower()
    if key in Filters.KEYS and not value:
        raise UsageError(f"invalid filter {text!r}: use one of {', '.join(Filters.KEYS)} as key=value")
    return key, value  # docker's daemon ignores a key it does not know: so does run


def parser() -> Parser:
    p = Parser("events", "Show the event log, as docker events does")
    p.add_argument("--since", type=parse_when, help="events after this time or duration ago (10m, 1h)")
    p.add_argument("--until", type=parse_when, help="events before this time")
    p.add_argument("-f", "--filter", type=parse_filter, action="append", default=[], metavar="KEY=VALUE",
                   help="container=, event=, image=, label=, network=, scope=, type=, volume=")
    p.add_argument("--format", help="a Go template, or json for one JSON object per line")
    return p


def docker_shape(event: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    moment = timestamps.parse(event.time)
    nano = int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000
    from mydocker.cli.template import GoMap

    attributes = GoMap({k: (str(v).lower() if isinstance(v, bool) else str(v))
                        for k, v in attrs.items() if k != "names"})
    if "exit_code" in attributes:
        attributes["exitCode"] = attributes.pop("exit_code")
    return {
        "Type": event.stream_type,
        "Action": action(event),
        "Actor": {"ID": event.stream_id, "Attributes": attributes},
        "scope": "local",
        "time": nano // 1_000_000_000,
        "timeNano": nano,
        "status": action(event),
        "id": event.stream_id,
        "from": attrs.get("image", ""),
        "Seq": event.seq,
        "Version": event.version,
        "By": event.actor,
        "Payload": event.payload,
    }


def line(event: Any, attrs: dict[str, Any]) -> str:
    stamp = event.time[:-1] + "000Z"  # docker prints nanoseconds
    shown = ", ".join(f"{k}={v}" for k, v in sorted(attrs.items()) if k != "names")
    return f"{stamp} {event.stream_type} {action(event)} {event.stream_id} ({shown})"


def action(event: Any) -> str:
    from mydocker.statemachine.audit import docker_action

    return docker_action(event)


def _now() -> str:
    return timestamps.now()


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template
    from mydocker.statemachine.audit import Filters, matching

    filters = Filters([(key, value) for key, value in args.filter if key in Filters.KEYS])
    fmt = template.unescape(args.format) if args.format else None
    conn = ctx.conn
    last_seq = 0

    def emit(since: str | None) -> None:
        nonlocal last_seq
        for event, attrs in matching(conn, filters, since, args.until, last_seq):
            last_seq = max(last_seq, event.seq)
            if fmt == "json":
                out = json.dumps(docker_shape(event, attrs))
            elif fmt:
                out = template.render(fmt, docker_shape(event, attrs))
            else:
                out = line(event, attrs)
            sys.stdout.write(out + "\n")
        sys.stdout.flush()

    if args.since is None and args.until is None:
        last_seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    else:
        emit(args.since)
    if args.until is not None and args.until <= _now():
        return 0
    seen_version = conn.execute("PRAGMA data_version").fetchone()[0]
    while args.until is None or _now() < args.until:
        time.sleep(FOLLOW_POLL)
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version != seen_version:
            seen_version = version
            newest = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
            if newest > last_seq:
                emit(args.since)
    return 0
