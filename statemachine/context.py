"""What every command carries: the state root, a database connection, and who
is acting (recorded in every event it appends)."""

from __future__ import annotations

import os
import pwd
import sqlite3
from typing import Any

DEFAULT_ROOT = "/var/lib/mydocker"
# A front that runs a CLI command as its child (the Engine API service) says here,
# as a JSON object, who really asked; it is merged into every event's actor.
ACTOR_ENV = "MYDOCKER_ACTOR"


def default_root() -> str:
    return os.environ.get("MYDOCKER_ROOT") or DEFAULT_ROOT


def actor(command: str) -> dict[str, Any]:
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    found: dict[str, Any] = {"command": command, "pid": os.getpid(), "uid": uid, "user": user}
    if os.environ.get(ACTOR_ENV):
        import json

        try:
            extra = json.loads(os.environ[ACTOR_ENV])
        except ValueError:
            extra = None
        if isinstance(extra, dict):
            found.update({k: v for k, v in extra.items() if k not in found})
    return found


class Context:
    # A plain class, not a dataclass: importing dataclasses (inspect, dis, ast) costs
    # every command ~10 ms before it does anything.
    def __init__(self, root: str, command: str = "", _conn: sqlite3.Connection | None = None) -> None:
        self.root = root
        self.command = command
        self._conn = _conn

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={self.root!r}, command={self.command!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.root, self.command, self._conn) == (other.root, other.command, other._conn)  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # as the dataclass it replaces: mutable, unhashable

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            from mydocker.store.db import connect

            self._conn = connect(self.root)
            from mydocker.core import roottags

            try:  # before this root can put a tagged object on the host
                roottags.register(self.root)
            except OSError:
                pass  # unregistered, what it leaves behind stays `unknown`: never removed by others
        return self._conn

    @property
    def tag(self) -> str:
        """Short, stable name of this state root, carried by its host objects."""
        from mydocker.core import roottags

        return roottags.tag_of(self.root)

    def actor(self) -> dict[str, Any]:
        return actor(self.command)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
