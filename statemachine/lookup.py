"""Finding a container, image or network by what a user typed: docker's order,
full id, then name, then a unique id prefix, in one place for the three."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from mydocker.statemachine.errors import UserError

HEX = frozenset("0123456789abcdef")


class Ambiguous(UserError):
    """An id prefix that more than one object's id starts with: the daemon's
    refusal in docker (exit status 1), not a bad flag value (125)."""


def is_hex(text: str) -> bool:
    return bool(text) and set(text) <= HEX


def find_row(conn: sqlite3.Connection, table: str, ref: str, *, name: str, name_where: str = "name = ?",
             prefix: str | None = None, ambiguous: Callable[[int], str] | None = None) -> dict[str, Any] | None:
    """The row whose id is ref, else whose name matches (name_where, given name),
    else whose id starts with prefix (None: ref is no prefix). Several ids with
    that prefix: Ambiguous with the words ambiguous(count) gives, or, without
    ambiguous, none found (docker's word for an image)."""
    row = conn.execute(f"SELECT * FROM {table} WHERE id = ? OR {name_where} ORDER BY id = ? DESC LIMIT 1",
                       (ref, name, ref)).fetchone()
    if row is not None:
        return dict(row)
    if not prefix:
        return None
    bounds = (prefix, prefix + "g")  # every id under the prefix sorts in [prefix, prefix+'g'): ids are hex
    rows = conn.execute(f"SELECT * FROM {table} WHERE id >= ? AND id < ? LIMIT 2", bounds).fetchall()
    if len(rows) > 1:
        if ambiguous is None:
            return None
        count = conn.execute(f"SELECT count(*) FROM {table} WHERE id >= ? AND id < ?", bounds).fetchone()[0]
        raise Ambiguous(ambiguous(count))
    return dict(rows[0]) if rows else None
