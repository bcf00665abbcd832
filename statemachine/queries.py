"""The read side: containers as the projection holds them."""

from __future__ import annotations

import sqlite3
from typing import Any

from mydocker.statemachine.errors import NoSuchContainer
from mydocker.statemachine.lookup import find_row, is_hex
from mydocker.statemachine.rowview import Column, RowView


class ContainerView(RowView):
    __slots__ = ()
    id = Column[str]("id")
    name = Column[str]("name")
    state = Column[str]("state")
    version = Column[int]("version")
    config = Column[dict[str, Any]]("config", decode=True)
    command = Column[list[str]]("command", decode=True)


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
