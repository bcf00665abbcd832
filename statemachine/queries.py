"""The read side: containers as the projection holds them."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from mydocker.statemachine.errors import NoSuchContainer
from mydocker.statemachine.lookup import find_row, is_hex


class ContainerView:
    # not a dataclass: read commands would pay ~10 ms to import dataclasses
    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def __repr__(self) -> str:
        return f"ContainerView(row={self.row!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.row == other.row  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def name(self) -> str:
        return self.row["name"]

    @property
    def state(self) -> str:
        return self.row["state"]

    @property
    def version(self) -> int:
        return self.row["version"]

    @property
    def config(self) -> dict[str, Any]:
        return json.loads(self.row["config"])

    @property
    def command(self) -> list[str]:
        return json.loads(self.row["command"])


def find(conn: sqlite3.Connection, ref: str) -> ContainerView | None:
    """By full id, then exact name, then unique id prefix (docker's order)."""
    ref = ref.strip()
    if not ref:
        return None
    row = find_row(conn, "containers", ref, name=ref[1:] if ref.startswith("/") else ref,
                   prefix=ref if is_hex(ref) else None,
                   ambiguous=lambda count: f"Multiple IDs found with provided prefix: {ref}")
    return ContainerView(row) if row else None


def get(conn: sqlite3.Connection, ref: str) -> ContainerView:
    found = find(conn, ref)
    if found is None:
        raise NoSuchContainer(ref)
    return found


def by_id(conn: sqlite3.Connection, container_id: str) -> ContainerView | None:
    row = conn.execute("SELECT * FROM containers WHERE id = ?", (container_id,)).fetchone()
    return ContainerView(dict(row)) if row else None


def list_all(conn: sqlite3.Connection, include_stopped: bool) -> list[ContainerView]:
    sql = "SELECT * FROM containers"
    if not include_stopped:
        sql += " WHERE state IN ('running', 'paused', 'restarting')"
    sql += " ORDER BY created_at DESC, id"
    return [ContainerView(dict(r)) for r in conn.execute(sql)]
