"""The log, read for people: event queries with docker's filters, histories."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from mydocker.store.events import Event, read_all


class _PerStream(dict[str, Any]):
    """{stream id: attributes}, each read from the log when first asked for: a query
    over a month-old log names the few streams it shows, not every stream ever made."""

    def __init__(self, read: Callable[[str], Any]) -> None:
        super().__init__()
        self._read = read

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = self._read(key)
        value = dict.get(self, key)
        return default if value is None else value


def _created(conn: sqlite3.Connection, sid: str) -> dict[str, Any] | None:
    """The payload of a stream's create event (None: no such stream)."""
    row = conn.execute("SELECT payload FROM events WHERE stream_id = ? AND type = 'create'", (sid,)).fetchone()
    return None if row is None else json.loads(row[0])


def container_names(conn: sqlite3.Connection) -> dict[str, dict[str, str]]:
    """{container id: {its labels..., name, image}} for every container ever created:
    docker's container event attributes (labels first, so name and image win)."""
    def read(sid: str) -> dict[str, str] | None:
        if (p := _created(conn, sid)) is None:
            return None
        labels = (p.get("config") or {}).get("labels") or {}
        return {**{str(k): str(v) for k, v in labels.items()}, "name": p["name"], "image": p["image"]}

    return _PerStream(read)


def image_names(conn: sqlite3.Connection) -> dict[str, list[str]]:
    def read(sid: str) -> list[str]:
        names: list[str] = []
        for etype, payload in conn.execute(
            "SELECT type, payload FROM events WHERE stream_id = ? AND stream_type = 'image' ORDER BY seq", (sid,)
        ):
            p = json.loads(payload)
            names += p.get("tags", []) + ([p["name"]] if etype == "tag" and "name" in p else [])
        return names

    return _PerStream(read)


def network_names(conn: sqlite3.Connection) -> dict[str, dict[str, str]]:
    """{network id: {name, type}}: docker's network event attributes."""
    def read(sid: str) -> dict[str, str] | None:
        if (p := _created(conn, sid)) is None:
            return None
        return {"name": str(p.get("name", "")), "type": str(p.get("driver") or "bridge")}

    return _PerStream(read)


# The log names a network's endpoints by what IPAM did (allocate / release);
# docker's events name the same moments connect / disconnect. The log keeps its
# words (SQL audits read them); `events` and the API speak docker's.
DOCKER_ACTIONS = {("network", "allocate"): "connect", ("network", "release"): "disconnect"}


def docker_action(event: Event) -> str:
    """docker's Action: a health check's carries its new status."""
    if event.type == "health_status":
        return f"health_status: {event.payload.get('status', '')}"
    return DOCKER_ACTIONS.get((event.stream_type, event.type), str(event.type))


class Filters:
    """docker events --filter key=value; same key ORs, different keys AND."""

    KEYS = ("container", "event", "image", "network", "type", "label", "volume", "scope")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.by_key: dict[str, list[str]] = {}
        for key, value in pairs:
            self.by_key.setdefault(key, []).append(value)

    def matches(self, event: Event, attrs: dict[str, Any]) -> bool:
        for key, values in self.by_key.items():
            if key == "event" and event.type not in values and docker_action(event) not in values:
                return False
            if key == "type" and event.stream_type not in values:
                return False
            if key == "container":
                if event.stream_type != "container":
                    return False
                if not any(event.stream_id.startswith(v) or attrs.get("name") == v.lstrip("/") for v in values):
                    return False
            if key == "image":
                images = {attrs.get("image", "")} | set(attrs.get("names", []))
                images |= {i.rsplit(":", 1)[0] for i in images if i.endswith(":latest")}
                if not any(v in images or event.stream_id.startswith(v) for v in values):
                    return False
            if key == "label" and not all(_has_label(attrs, v) for v in values):
                return False  # docker: every label filter must hold, against the attributes
            if key == "volume" and (event.stream_type != "volume" or event.stream_id not in values):
                return False
            if key == "scope" and "local" not in values:
                return False
            if key == "network":
                if event.stream_type != "network" and attrs.get("network") not in values:
                    return False
                if event.stream_type == "network" and not any(
                    event.stream_id.startswith(v) or attrs.get("name") == v for v in values
                ):
                    return False
        return True


def _has_label(attrs: dict[str, Any], want: str) -> bool:
    key, eq, value = want.partition("=")
    return key in attrs and (not eq or str(attrs[key]) == value)


def attributes(event: Event, containers: dict[str, dict[str, str]], images: dict[str, list[str]],
               networks: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if event.stream_type == "container":
        attrs.update(containers.get(event.stream_id, {}))
        for key in ("exit_code", "signal", "reason", "oom_killed"):
            if key in event.payload:
                attrs[key] = event.payload[key]
    elif event.stream_type == "image":
        attrs["names"] = images.get(event.stream_id, [])
        if attrs["names"]:
            attrs["name"] = attrs["names"][0]
        # where a pulled or pushed image came from or went to
        attrs.update({k: event.payload[k] for k in ("reference", "digest") if k in event.payload})
    else:
        attrs.update({k: v for k, v in event.payload.items() if isinstance(v, (str, int))})
        if event.stream_type == "network" and networks is not None:
            attrs.update(networks.get(event.stream_id, {}))  # docker's name= and type= on every network event
    return attrs


def matching(conn: sqlite3.Connection, filters: Filters, since: str | None, until: str | None,
             after_seq: int = 0) -> Iterator[tuple[Event, dict[str, Any]]]:
    containers, images, networks = container_names(conn), image_names(conn), network_names(conn)
    if since:
        # the time index finds where --since starts: a month-old log is not read from its first event
        first = conn.execute("SELECT MIN(seq) FROM events INDEXED BY events_by_time WHERE time >= ?",
                             (since,)).fetchone()[0]
        if first is None:
            return
        after_seq = max(after_seq, first - 1)
    for event in read_all(conn, after_seq):
        if since and event.time < since:
            continue
        if until and event.time > until:
            break
        attrs = attributes(event, containers, images, networks)
        if filters.matches(event, attrs):
            yield event, attrs


def history_streams(conn: sqlite3.Connection, ref: str) -> list[str]:
    """Streams of containers, removed ones included, by id, id prefix or name;
    the most recent first."""
    rows = conn.execute(
        "SELECT stream_id FROM events WHERE stream_type = 'container' AND type IN ('create', 'rename')"
        " AND (stream_id = ? OR json_extract(payload, '$.name') = ? OR stream_id LIKE ? || '%')"
        " GROUP BY stream_id ORDER BY MAX(seq) DESC",
        (ref, ref.lstrip("/"), ref),
    ).fetchall()
    exact = [r[0] for r in rows if r[0] == ref]
    return exact or [r[0] for r in rows]
