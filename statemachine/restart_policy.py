"""Restart policies as docker 20.10's restart manager decides them: pure functions
of the policy, the exit and what the projection remembers, so the machine's rows
and the unit tests share one judge.

Backoff (moby's restartmanager): the first delay is 100 ms, each next one doubles,
up to a minute; a run that lasted 10 s or more starts again from 100 ms.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NAMES = ("no", "always", "unless-stopped", "on-failure")
FIRST_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0


class PolicyError(ValueError):
    """Docker's words for a policy it refuses."""


def parse(text: str) -> dict[str, Any]:
    """--restart NAME[:N] as HostConfig.RestartPolicy."""
    name, sep, count = text.partition(":")
    retries = 0
    if sep:
        try:
            retries = int(count)
        except ValueError:
            raise PolicyError("invalid restart policy format: maximum retry count must be an integer") from None
    return validate({"Name": name, "MaximumRetryCount": retries})


def validate(policy: dict[str, Any]) -> dict[str, Any]:
    """The daemon's checks (the API's HostConfig.RestartPolicy goes through them too)."""
    name = policy.get("Name") or "no"
    retries = policy.get("MaximumRetryCount") or 0
    if name not in NAMES:
        raise PolicyError(f"invalid restart policy '{name}'")
    if not isinstance(retries, int) or isinstance(retries, bool):
        raise PolicyError("invalid restart policy format: maximum retry count must be an integer")
    if retries and name != "on-failure":
        raise PolicyError(f"maximum retry count cannot be used with restart policy '{name}'")
    if retries < 0:
        raise PolicyError("maximum retry count cannot be negative")
    return {"Name": name, "MaximumRetryCount": retries}


def of(config: dict[str, Any]) -> dict[str, Any]:
    return config.get("restart_policy") or {"Name": "no", "MaximumRetryCount": 0}


def should_restart(policy: dict[str, Any], exit_code: int, stopped_by_user: bool, restart_count: int) -> bool:
    """At an exit: a user's stop or kill wins over every policy (docker cancels
    the container's restart manager)."""
    return not stopped_by_user and _policy_says(policy, exit_code, stopped_by_user, restart_count)


def at_boot(policy: dict[str, Any], exit_code: int, stopped_by_user: bool) -> bool:
    """At boot (dockerd's restore asks a fresh restart manager): `always` even
    after a user's stop, `unless-stopped` unless a user stopped it, `on-failure`
    if the last exit failed (a reboot's unknown status, 255, is a failure)."""
    return _policy_says(policy, exit_code, stopped_by_user, 0)


def _policy_says(policy: dict[str, Any], exit_code: int, stopped_by_user: bool, restart_count: int) -> bool:
    """moby's restartmanager.ShouldRestart."""
    name = policy.get("Name") or "no"
    if name == "always" or (name == "unless-stopped" and not stopped_by_user):
        return True
    if name == "on-failure":
        retries = policy.get("MaximumRetryCount") or 0
        return exit_code != 0 and (retries == 0 or restart_count < retries)
    return False


def next_delay(previous: float, ran_for: float) -> float:
    """Seconds to wait before the next start."""
    if ran_for >= RESET_AFTER or previous <= 0:
        return FIRST_DELAY
    return min(previous * 2, MAX_DELAY)


def seconds_since(stamp: str | None, now: datetime | None = None) -> float:
    """How long ago an event time of the log was (0 when unknown)."""
    if not stamp:
        return 0.0
    try:
        then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return 0.0
    return max(0.0, ((now or datetime.now(UTC)) - then).total_seconds())
