"""The timeline page's layout: one bar per container from its first start to its last
death (or now, while it runs), on a thin line from its creation to its removal,
coloured by how it ended. Pure: rows in, SVG geometry out; the template draws it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# One row per container, newest first; names as created (the views' convention).
# `+type` keeps SQLite off the (type, time) index: walking the log backwards finds the
# newest creates at once, and a container's own events (its stream) are few, where that
# index would walk every container's events for each container.
SQL = """
WITH newest AS (
    SELECT seq, stream_id, time, payload FROM events
     WHERE stream_type = 'container' AND +type = 'create' ORDER BY seq DESC LIMIT :limit)
SELECT c.stream_id AS container_id,
       json_extract(c.payload, '$.name') AS name,
       json_extract(c.payload, '$.image') AS image,
       c.time AS created_at,
       (SELECT MIN(s.time) FROM events s WHERE s.stream_id = c.stream_id AND +s.type = 'start') AS first_started_at,
       (SELECT MAX(s.version) FROM events s
         WHERE s.stream_id = c.stream_id AND +s.type = 'start') AS last_start_version,
       d.version AS last_die_version,
       d.time AS last_died_at,
       d.payload AS last_die,
       (SELECT MAX(x.time) FROM events x WHERE x.stream_id = c.stream_id AND +x.type = 'destroy') AS removed_at
  FROM newest c
  LEFT JOIN events d ON d.stream_id = c.stream_id AND d.version =
       (SELECT MAX(v.version) FROM events v WHERE v.stream_id = c.stream_id AND +v.type = 'die')
 ORDER BY c.seq DESC
"""
COUNT_SQL = "SELECT COUNT(*) FROM events WHERE stream_type = 'container' AND type = 'create'"

# (key, legend label, colour); the order of the legend.
OUTCOMES = (
    ("exit0", "exited 0", "#2e9e44"),
    ("nonzero", "exited non-zero", "#e67e22"),
    ("killed", "killed by a signal", "#8e44ad"),
    ("oom", "OOM-killed", "#c0392b"),
    ("running", "still running", "#2f80ed"),
    ("lost", "died unwatched", "#7f8c8d"),
    ("created", "never started", "#c8ccd0"),
)
COLOURS = {key: colour for key, _, colour in OUTCOMES}

LABEL_WIDTH = 220  # the names' column
PLOT_WIDTH = 700
STATUS_WIDTH = 130  # room after a bar for how it ended
ROW_HEIGHT = 22
BAR_HEIGHT = 14
TOP = 40  # the time axis
MIN_BAR = 3  # a container that lived a millisecond is still seen


@dataclass
class Bar:
    container_id: str
    name: str
    image: str
    outcome: str
    status: str
    colour: str
    y: float
    life_x1: float
    life_x2: float
    removed: bool
    run_x: float
    run_width: float
    tooltip: str


@dataclass
class Tick:
    x: float
    label: str


@dataclass
class Layout:
    bars: list[Bar]
    ticks: list[Tick]
    legend: list[tuple[str, str, str, int]]  # key, label, colour, count
    width: int
    height: int
    start: str
    end: str
    shown: int
    total: int


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def outcome(row: dict[str, Any]) -> tuple[str, str]:
    """(key, words) for how the container ended, or that it has not."""
    if not row.get("first_started_at"):
        return "created", "never started"
    last_start = row.get("last_start_version") or 0
    last_die = row.get("last_die_version") or 0
    if last_start > last_die and not row.get("removed_at"):
        return "running", "running"
    die = json.loads(row["last_die"]) if row.get("last_die") else {}
    reason = str(die.get("reason") or "")
    code = die.get("exit_code")
    if die.get("oom_killed") or reason == "oom":
        return "oom", "OOM-killed"
    if reason.startswith("killed by signal"):
        return "killed", f"killed ({reason.replace('killed by ', '')})"
    if reason in ("monitor lost", "host reboot") or code is None:
        return "lost", reason or "died unwatched"
    return ("exit0", "exit 0") if code == 0 else ("nonzero", f"exit {code}")


def layout(rows: list[dict[str, Any]], total: int, now: datetime | None = None) -> Layout:
    now = now or datetime.now(UTC)
    rows = list(reversed(rows))  # oldest at the top, as a person reads time
    known = [t for r in rows for t in (_time(r["created_at"]), _time(r.get("last_died_at")),
                                       _time(r.get("removed_at"))) if t]
    kinds = [outcome(r) for r in rows]
    if any(k == "running" for k, _ in kinds):
        known.append(now)
    t0 = min(known, default=now)
    t1 = max(known, default=now)
    if t1 - t0 < timedelta(seconds=1):
        t1 = t0 + timedelta(seconds=1)
    span = (t1 - t0).total_seconds()

    def x(moment: datetime) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * (moment - t0).total_seconds() / span

    bars = []
    for i, (row, (key, status)) in enumerate(zip(rows, kinds, strict=True)):
        created = _time(row["created_at"]) or t0
        started = _time(row.get("first_started_at"))
        died = _time(row.get("last_died_at"))
        removed = _time(row.get("removed_at"))
        run_start = started or created
        run_end = t1 if key == "running" else (died or run_start)
        run_x, run_x2 = x(run_start), x(max(run_end, run_start))
        bars.append(Bar(
            container_id=row["container_id"], name=row["name"] or row["container_id"][:12],
            image=row.get("image") or "", outcome=key, status=status, colour=COLOURS[key],
            y=TOP + i * ROW_HEIGHT, life_x1=x(created), life_x2=x(removed or t1), removed=removed is not None,
            run_x=run_x, run_width=max(MIN_BAR, run_x2 - run_x),
            tooltip=(f"{row['name']} ({row['container_id'][:12]}, {row.get('image') or '?'}): {status}; "
                     f"created {row['created_at']}, started {row.get('first_started_at') or '-'}, "
                     f"died {row.get('last_died_at') or '-'}, removed {row.get('removed_at') or '-'}"),
        ))
    fmt = "%H:%M:%S" if span < 86400 else "%m-%d %H:%M"
    ticks = [Tick(LABEL_WIDTH + PLOT_WIDTH * f, (t0 + (t1 - t0) * f).strftime(fmt)) for f in (0, .25, .5, .75, 1)]
    counts = {key: sum(1 for k, _ in kinds if k == key) for key, _, _ in OUTCOMES}
    return Layout(
        bars=bars, ticks=ticks,
        legend=[(key, label, colour, counts[key]) for key, label, colour in OUTCOMES if counts[key]],
        width=LABEL_WIDTH + PLOT_WIDTH + STATUS_WIDTH, height=TOP + max(1, len(bars)) * ROW_HEIGHT + 10,
        start=t0.strftime("%Y-%m-%d %H:%M:%S UTC"), end=t1.strftime("%Y-%m-%d %H:%M:%S UTC"),
        shown=len(bars), total=total,
    )
