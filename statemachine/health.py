"""Health checks as docker 20.10 runs them, in pure functions: the check a
container has (its --health-* flags over the image's HEALTHCHECK), what a probe's
result does to State.Health, and what `ps` and its filter show.

State.Health: {"Status": starting|healthy|unhealthy, "FailingStreak": n, "Log":
the last 5 probes {"Start", "End", "ExitCode", "Output"}}. A probe exiting 0 is
healthy and ends the streak; any other result (a timeout is -1) adds to it, except
during the start period while still starting; `Retries` failures in a row make it
unhealthy.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

SECOND = 10**9
DEFAULTS = {"Interval": 30 * SECOND, "Timeout": 30 * SECOND, "StartPeriod": 0, "Retries": 3}
STATE_FILE = "health.json"  # in the container's directory: State.Health as the last probe left it
LOG_ENTRIES = 5
OUTPUT_LIMIT = 4096  # docker keeps this much of a probe's output
_GO_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": SECOND, "m": 60 * SECOND, "h": 3600 * SECOND}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_go_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds; ValueError with Go's words."""
    rest = text
    sign = -1 if rest.startswith("-") else 1
    rest = rest.lstrip("+-")
    if rest == "0":
        return 0
    total = 0.0
    if not rest:
        raise ValueError(f'time: invalid duration "{text}"')
    while rest:
        m = _GO_PART.match(rest)
        if not m:
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        rest = rest[m.end():]
    return sign * int(total)


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(), as docker prints a timeout: 300ms, 1s, 1m30s."""
    if ns == 0:
        return "0s"
    if ns < SECOND:
        for unit, size in (("ms", 10**6), ("µs", 10**3)):
            if ns >= size:
                return f"{ns / size:g}{unit}"
        return f"{ns}ns"
    seconds = ns / SECOND
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    return f"{int(minutes)}m{text}" if minutes else text


def merge(own: dict[str, Any] | None, image: dict[str, Any] | None) -> dict[str, Any] | None:
    """docker's merge at create: the container's fields, the image's where unset."""
    if not own:
        return dict(image) if image else None
    out = dict(own)
    if image:
        if not out.get("Test"):
            out["Test"] = image.get("Test")
        for key in ("Interval", "Timeout", "StartPeriod", "Retries"):
            if not out.get(key) and image.get(key):
                out[key] = image[key]
    return out


def effective(config: dict[str, Any]) -> dict[str, Any] | None:
    """The check this container runs, defaults filled in; None if it has none."""
    check = config.get("healthcheck")
    if not check:
        return None
    test = check.get("Test") or []
    if not test or test[0] == "NONE":
        return None
    return {"Test": test, **{k: check.get(k) or v for k, v in DEFAULTS.items()}}


def probe_argv(test: list[str]) -> list[str]:
    """CMD-SHELL runs through the container's /bin/sh -c, CMD as given."""
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return list(test[1:])


def after_probe(health: dict[str, Any] | None, check: dict[str, Any], exit_code: int, output: str,
                start: str, end: str, in_start_period: bool) -> dict[str, Any]:
    """State.Health once a probe has given its result."""
    current = health or {"Status": "starting", "FailingStreak": 0, "Log": []}
    status, streak = current["Status"], current["FailingStreak"]
    if exit_code == 0:
        status, streak = "healthy", 0
    elif not (in_start_period and status == "starting"):  # start-period failures do not count
        streak += 1
        if streak >= check["Retries"]:
            status = "unhealthy"
    entry = {"Start": start, "End": end, "ExitCode": exit_code, "Output": output[:OUTPUT_LIMIT]}
    return {"Status": status, "FailingStreak": streak, "Log": [*current["Log"], entry][-LOG_ENTRIES:]}


def status_of(config: dict[str, Any], state: str, health: dict[str, Any] | None) -> str:
    """starting | healthy | unhealthy while running with a check; "none" otherwise
    (what `ps --filter health=` matches)."""
    from mydocker.statemachine.machine import is_alive

    if effective(config) is None:
        return "none"
    if not is_alive(state):
        return (health or {}).get("Status", "none") if health else "none"
    return (health or {}).get("Status") or "starting"


def ps_suffix(config: dict[str, Any], state: str, health: dict[str, Any] | None) -> str:
    """What `ps` adds to "Up 3 seconds": " (healthy)", " (health: starting)";
    nothing while the container is not probed (paused: "(Paused)" instead)."""
    from mydocker.statemachine.machine import can

    if not can(state, "health_probe") or effective(config) is None:
        return ""
    status = status_of(config, state, health)
    return " (health: starting)" if status == "starting" else f" ({status})"


def read_state(view: Any) -> dict[str, Any] | None:
    """State.Health as the last probe of the current (or last) run left it; None
    before this run's first probe."""
    try:
        with open(os.path.join(view.config["directory"], STATE_FILE)) as f:
            saved = json.load(f)
    except (OSError, ValueError):
        return None
    if view.row.get("pid") is not None and saved.get("pid") != view.row["pid"]:
        return None  # an earlier run's
    return saved.get("health")


def inspect_health(view: Any) -> dict[str, Any] | None:
    """inspect's State.Health: None for a container without a check."""
    if effective(view.config) is None:
        return None
    saved = read_state(view)
    if saved is None:
        row = json.loads(view.row["health"]) if view.row.get("health") else {}
        return {"Status": row.get("Status", "starting"), "FailingStreak": row.get("FailingStreak", 0), "Log": []}
    return saved
