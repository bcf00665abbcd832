"""`ps --filter` as docker's daemon applies it: the same key ORs its values
(label excepted: every label must match), different keys AND; a bad key or
value is refused before anything is listed."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable

from mydocker.statemachine.errors import InvalidArgument, NotFound, UserError
from mydocker.statemachine.queries import ContainerView

KEYS = ("id", "name", "label", "status", "exited", "ancestor", "before", "since", "volume", "network",
        "publish", "expose", "health", "isolation", "is-task")
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
HEALTH = ("starting", "healthy", "unhealthy", "none")
DOCKER_STATE = {"created": "created", "running": "running", "stopped": "exited", "paused": "paused",
                "restarting": "restarting"}


class FilterError(UserError):
    pass


def parse(texts: list[str]) -> dict[str, list[str]]:
    """key=value strings -> {key: [values]}, in docker's words when wrong."""
    out: dict[str, list[str]] = {}
    for text in texts:
        key, eq, value = text.partition("=")
        key = key.strip().lower()
        if not eq:
            raise InvalidArgument(f'invalid argument "{text}" for "-f, --filter" flag: '
                                  "bad format of filter (expected name=value)")
        if key not in KEYS:
            raise FilterError(f"Invalid filter '{key}'")
        if key == "status" and value not in STATUSES:
            raise FilterError(f"Invalid filter 'status={value}'")
        if key == "health" and value not in HEALTH:
            raise FilterError(f"Unrecognised filter value for health: {value}")
        if key == "exited":
            try:
                int(value)
            except ValueError:
                raise FilterError(f'strconv.Atoi: parsing "{value}": invalid syntax') from None
        if key in ("publish", "expose"):
            _port_range(value)
        out.setdefault(key, []).append(value)
    return out


def implies_all(filters: dict[str, list[str]]) -> bool:
    """docker lists stopped containers too when a status filter asks for them."""
    return "status" in filters


def select(conn: sqlite3.Connection, views: list[ContainerView], filters: dict[str, list[str]],
           image_ids: Callable[[str], set[str]]) -> list[ContainerView]:
    if not filters:
        return views
    tests: list[Callable[[ContainerView], bool]] = []
    for key, values in filters.items():
        if key in ("before", "since"):
            tests.append(_ordering(conn, key, values))
        elif key == "ancestor":
            wanted = set().union(*(image_ids(v) for v in values))
            tests.append(lambda v, wanted=wanted: v.row["image_id"] in wanted)  # type: ignore[misc]
        else:
            match = _MATCHERS[key]
            combine = all if key == "label" else any  # docker: every label filter must hold
            tests.append(lambda v, match=match, values=values, combine=combine:  # type: ignore[misc]
                         combine(match(v, x) for x in values))
    return [v for v in views if all(test(v) for test in tests)]


def _ordering(conn: sqlite3.Connection, key: str, refs: list[str]) -> Callable[[ContainerView], bool]:
    from mydocker.statemachine import queries

    marks = []
    for ref in refs:
        found = queries.find(conn, ref)
        if found is None:
            raise NotFound(f"no such container {ref}")
        marks.append((found.row["created_at"], found.id))
    if key == "before":
        return lambda v: all((v.row["created_at"], v.id) < mark for mark in marks)
    return lambda v: all((v.row["created_at"], v.id) > mark for mark in marks)


def labels_of(view: ContainerView) -> dict[str, str]:
    return dict(view.config.get("labels") or {})


def _label(view: ContainerView, want: str) -> bool:
    key, eq, value = want.partition("=")
    labels = labels_of(view)
    return key in labels and (not eq or labels[key] == value)


def _name(view: ContainerView, pattern: str) -> bool:
    try:
        return re.search(pattern, view.name) is not None or re.search(pattern, "/" + view.name) is not None
    except re.error:
        return pattern in view.name


def _volume(view: ContainerView, want: str) -> bool:
    for mount in view.config["spec"].get("mounts", []):
        if want in (mount.get("name"), mount.get("destination")) or (
                mount.get("type") == "bind" and want == mount.get("source")):
            return True
    return False


def _network(view: ContainerView, want: str) -> bool:
    """Its first network or any it was connected to besides."""
    network = view.config.get("network") or {}
    name = network.get("name") or view.config["spec"].get("network", "")
    others = view.config.get("extra_networks") or []
    return want == name or bool(network.get("id")) and str(network.get("id")).startswith(want) or any(
        want == e.get("name") or str(e.get("id", "")).startswith(want) for e in others)


def _port_range(text: str) -> tuple[int, int, str | None]:
    ports, slash, proto = text.partition("/")
    first, dash, last = ports.partition("-")
    try:
        start, end = int(first), int(last) if dash else int(first)
    except ValueError:
        raise FilterError(f"Invalid range format for --publish/expose: {text}") from None
    if slash and proto not in ("tcp", "udp", "sctp"):
        raise FilterError(f"Invalid proto: {proto}")
    return start, end, proto if slash else None


def _ports_match(ports: list[tuple[int, str]], want: str) -> bool:
    start, end, proto = _port_range(want)
    return any(start <= port <= end and (proto is None or proto == p) for port, p in ports)


def _published(view: ContainerView) -> list[tuple[int, str]]:
    """docker 20.10 matches `publish` against the host side of each binding."""
    network = view.config.get("network") or {}
    return [(p["host_port"], p["proto"]) for p in network.get("ports", [])]


def _exposed(view: ContainerView) -> list[tuple[int, str]]:
    network = view.config.get("network") or {}
    out = [(p["container_port"], p["proto"]) for p in network.get("ports", [])]
    for key in view.config.get("exposed_ports", []):
        port, _, proto = key.partition("/")
        out.append((int(port), proto or "tcp"))
    return out


def _health_status(view: ContainerView) -> str:
    from mydocker.statemachine.health import status_of

    return status_of(view.config, view.state, json.loads(view.row["health"]) if view.row.get("health") else None)


_MATCHERS: dict[str, Callable[[ContainerView, str], bool]] = {
    "id": lambda v, want: v.id.startswith(want),
    "name": _name,
    "label": _label,
    "status": lambda v, want: DOCKER_STATE.get(v.state, v.state) == want,
    "exited": lambda v, want: v.state == "stopped" and v.row["exit_code"] == int(want),
    "volume": _volume,
    "network": _network,
    "publish": lambda v, want: _ports_match(_published(v), want),
    "expose": lambda v, want: _ports_match(_exposed(v), want),
    "health": lambda v, want: _health_status(v) == want,
    "isolation": lambda v, want: want in ("default", "process"),
    "is-task": lambda v, want: want == "false",
}
