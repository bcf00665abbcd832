"""datasette's metadata for the log: what each view and table holds, column by column,
and the canned queries. The views' columns are the README's promise to users."""

from __future__ import annotations

from typing import Any

from mydocker.cli.audit_site.queries import QUERIES

DATABASE = "mydocker"  # datasette names a database after its file, ROOT/mydocker.db
TIMELINE_PATH = "/-/timeline"

VIEWS: dict[str, dict[str, Any]] = {
    "container_events": {
        "description": "One row per container event, with the container's name and the actor spelled out.",
        "columns": {
            "seq": "position in the whole log",
            "container_id": "the container's full id (its event stream)",
            "name": "the name it was created with",
            "version": "1, 2, 3... within the container's stream",
            "event": "docker's action: create, start, kill, die, stop, destroy, exec_start...",
            "time": "UTC, ISO 8601 with microseconds",
            "command": "the mydocker command line that caused it",
            "user": "who ran that command",
            "actor_pid": "the process that appended the event",
            "exit_code": "die and exec_die: the exit status",
            "oom_killed": "die: 1 when the kernel's OOM killer ended it",
            "reason": "die: exited, killed by signal N, oom, host reboot, monitor lost",
            "signal": "kill: the signal sent",
            "payload": "the event's JSON: everything needed to undo its side effect",
        },
    },
    "container_lifetimes": {
        "description": "One row per container ever created, removed ones included: how it lived and ended.",
        "columns": {
            "container_id": "the container's full id",
            "name": "the name it was created with",
            "image": "the image reference it was created from",
            "created_at": "its create event",
            "first_started_at": "its first start (empty: never started)",
            "last_died_at": "its last die",
            "removed_at": "its destroy (empty: not removed)",
            "last_exit_code": "the exit status of its last die",
            "last_die_reason": "why it last died",
            "ever_oom_killed": "1 when the OOM killer ended any of its runs",
            "starts": "how many times it was started",
            "seconds_running": "time spent running, all runs together (a running one counts until now)",
        },
    },
    "ip_allocations": {
        "description": "The IPAM table: one row per address a network handed out and still holds.",
        "columns": {
            "network_id": "the network's id",
            "network": "the network's name",
            "address": "the IP address",
            "container_id": "the container holding it",
        },
    },
    "events": {
        "description": "The log itself, append-only: the one source of truth every other table is folded from.",
    },
    "containers": {"description": "Projection: one row per container that is not removed."},
    "images": {"description": "Projection: one row per image that is not deleted."},
    "networks": {"description": "Projection: one row per network that is not removed (allocations: its IPAM)."},
    "volumes": {"description": "Projection: one row per volume that is not removed."},
}


def build() -> dict[str, Any]:
    return {
        "title": "mydocker audit log",
        "description_html": (
            "The event log of this mydocker root, read-only. "
            f'<a href="{TIMELINE_PATH}">Timeline of container lifetimes</a> · '
            f'<a href="/{DATABASE}#queries">canned queries</a>'
        ),
        "databases": {
            DATABASE: {
                "description": "Every container, image, network and volume event, and the views over them.",
                "tables": VIEWS,
                "queries": QUERIES,
            },
        },
    }
