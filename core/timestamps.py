"""The one spelling of a moment in mydocker's records: RFC 3339 in UTC with
microseconds (2024-01-02T03:04:05.000006Z). The event log, container logs and
image records hold it and the CLI reads it back. (store/events.py spells it
too: the store imports nothing of core; a unit test keeps the two equal.)"""

from __future__ import annotations

import time

TYPE_CHECKING = False  # typing itself is heavier than datetime
if TYPE_CHECKING:
    from datetime import datetime

# datetime is imported where it is used, not here: every container's waiter stamps its
# log lines with now(), and datetime weighs 0.4 MB of private memory in each of them.
FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_utc(when: datetime) -> str:
    from datetime import UTC

    return when.astimezone(UTC).strftime(FORMAT)


def now() -> str:
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanoseconds // 1000:06d}Z"


EPOCH = "1970-01-01T00:00:00.000000Z"


def from_rfc3339(text: object) -> str | None:
    """Any RFC 3339 time (Go's nanoseconds, offsets, none) in our spelling;
    None when text is not one."""
    if not isinstance(text, str) or not text.strip():
        return None
    raw = text.strip().replace("Z", "+00:00")
    main, dot, rest = raw.partition(".")
    if dot:  # Python takes at most microseconds
        digits = "".join(c for c in rest if c.isdigit())
        raw = f"{main}.{digits[:6].ljust(6, '0')}{rest[len(digits):]}"
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return format_utc(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC))


def parse(stamp: str) -> datetime:
    """An aware datetime. Our own stamps go through the C parser: strptime loads
    _strptime, locale and a regex on first use, ~5 ms of every `ps`."""
    from datetime import UTC, datetime

    if len(stamp) == 27 and stamp[19] == "." and stamp[26] == "Z":
        return datetime.fromisoformat(stamp[:26]).replace(tzinfo=UTC)
    return datetime.strptime(stamp, FORMAT).replace(tzinfo=UTC)
