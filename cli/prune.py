"""What docker's prune commands share: the confirmation prompt and the
`until=` / `label=` filters."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mydocker.core import timestamps
from mydocker.statemachine.errors import UserError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_SCALE = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def confirm(warning: str, force: bool) -> bool:
    if force:
        return True
    sys.stdout.write(f"WARNING! {warning}\nAre you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    # docker 20.10 proceeds on "y" or "Y" alone: "yes" is a no there, and so here
    return sys.stdin.readline().strip() in ("y", "Y")


def warning_list(items: list[str], filters: list[str]) -> str:
    """docker's `system prune` warning: what goes, then the filters that narrow it."""
    text = "This will remove:\n" + "".join(f"  - {item}\n" for item in items)
    if filters:
        text += "\n  Items to be pruned will be filtered with:\n" + "".join(f"  - {f}\n" for f in filters)
    return text


def section(title: str, lines: list[str]) -> str:
    """One of docker's "Deleted <title>:" blocks, nothing when nothing went."""
    return f"Deleted {title}:\n" + "".join(f"{line}\n" for line in lines) + "\n" if lines else ""


def parse_until(value: str, now: float | None = None) -> float:
    """A Go duration (10m, 1h30m: that long ago), a unix time or an RFC 3339
    time; the epoch seconds it names."""
    now = time.time() if now is None else now
    text = value.strip()
    if text and _DURATION.sub("", text) == "" and _DURATION.search(text):
        return now - sum(float(n) * _SCALE[u] for n, u in _DURATION.findall(text))
    try:
        return float(text)
    except ValueError:
        pass
    for fmt in (timestamps.FORMAT, "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise UserError(f'failed to parse value as time or duration: "{value}"') from None


def matcher(filters: list[str]) -> Callable[[str, dict[str, str]], bool]:
    """match(created_at ISO time, labels) for docker's prune filters: until
    (created before), label=K / label=K=V, label!=..."""
    until: list[float] = []
    want: list[tuple[str, str | None, bool]] = []
    for item in filters:
        key, sep, value = item.partition("=")
        negate = key.endswith("!")
        key = key.rstrip("!")
        if not sep or key not in ("until", "label"):
            raise UserError(f"Invalid filter '{key}'")
        if key == "until":
            until.append(parse_until(value))
        else:
            k, has, v = value.partition("=")
            want.append((k, v if has else None, negate))

    def match(created: str, labels: dict[str, Any]) -> bool:
        if until:
            stamp = timestamps.parse(created).timestamp()
            if not all(stamp < u for u in until):
                return False
        for k, v, negate in want:
            present = k in labels and (v is None or str(labels[k]) == v)
            if present == negate:
                return False
        return True

    return match


def prompt_and_prune(ctx: Any, filters: list[str], force: bool, warning: str, title: str,
                     prune: Callable[[Any, list[str]], tuple[list[str], int]]) -> int:
    """`container prune` / `volume prune`: a bad filter refused before the prompt, then
    docker's "Deleted <title>:" list and the space reclaimed."""
    from mydocker.cli.sizes import human_size

    matcher(filters)
    if not confirm(warning, force):
        print("Total reclaimed space: 0B")
        return 0
    deleted, reclaimed = prune(ctx, filters)
    sys.stdout.write(section(title, deleted))
    print(f"Total reclaimed space: {human_size(reclaimed)}")
    return 0
