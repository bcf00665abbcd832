"""Times and durations the way docker prints them."""

from __future__ import annotations

from datetime import UTC, datetime

from mydocker.core import timestamps

ZERO_TIME = "0001-01-01T00:00:00Z"
# The clock relative times are read against: `--at` sets it to the instant asked about.
NOW: datetime | None = None


parse_time = timestamps.parse


def human_duration(seconds: float) -> str:
    """go-units HumanDuration."""
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)  # Go's rounding, not Python's round-half-even
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def since(stamp: str | datetime, now: datetime | None = None) -> float:
    now = now or NOW or datetime.now(UTC)
    when = parse_time(stamp) if isinstance(stamp, str) else stamp
    return max((now - when).total_seconds(), 0.0)


def created_at(stamp: str | datetime) -> str:
    """ps's CreatedAt: 2026-11-27 21:57:00 +0000 UTC."""
    when = parse_time(stamp) if isinstance(stamp, str) else stamp
    return when.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def human_size(size: float) -> str:
    """docker's HumanSize: decimal units, 3 significant digits."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000:
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}PB"
