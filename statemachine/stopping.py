"""How a container is asked to stop: its --stop-signal (default SIGTERM) and
--stop-timeout (default 10 s) unless `stop -t` says otherwise, as docker."""

from __future__ import annotations

import signal
from typing import Any

DEFAULT_TIMEOUT = 10.0
FOREVER = 1e9  # docker: a negative timeout waits for the container however long it takes


def stop_signal(config: dict[str, Any]) -> int:
    text = str(config.get("stop_signal") or "SIGTERM").strip().upper()
    if text.isdecimal():
        return int(text)
    try:
        return int(signal.Signals[text if text.startswith("SIG") else f"SIG{text}"])
    except KeyError:
        return int(signal.SIGTERM)  # refused at create; an old log cannot name a bad one


def stop_timeout(config: dict[str, Any], asked: float | None) -> float:
    if asked is not None:
        return float(asked)
    configured = config.get("stop_timeout")
    if configured is None:
        return DEFAULT_TIMEOUT
    return FOREVER if configured < 0 else float(configured)
