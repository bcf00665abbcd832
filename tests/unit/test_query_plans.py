"""No reading command scans the whole log: every query that touches `events` goes
through an index. SQLite picks plans without statistics (nothing here runs ANALYZE),
so a plan seen on a small log is the plan a month-old log of a million events gets;
a query whose plan scans `events` costs every user a read of the whole log, on every
command (a JOIN that SQLite turned inside out once made `ps -a` take 0.7 s)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mydocker.cli.main import main
from mydocker.store import db

COMMANDS = [
    ["ps", "-a"],
    ["ps", "-a", "--at", "1h"],
    ["images"],
    ["images", "--at", "1h"],
    ["network", "ls"],
    ["volume", "ls"],
    ["volume", "ls", "--at", "1h"],
    ["events", "--since", "1h", "--until", "0s"],
    ["events", "--since", "1h", "--until", "0s", "--filter", "type=volume"],
]


def scanned_tables(conn: sqlite3.Connection, sql: str, params: Any) -> list[str]:
    """The tables or aliases the plan reads from end to end."""
    plan = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return [m.group(1) for row in plan if (m := re.match(r"SCAN (\w+)", row[3]))]


def names_of_events(sql: str) -> set[str]:
    """`events` and the aliases the statement gives it."""
    names = {"events"}
    for m in re.finditer(r"\bevents\s+(?:AS\s+)?(\w+)", sql, re.IGNORECASE):
        if m.group(1).upper() not in {"WHERE", "ON", "JOIN", "CROSS", "LEFT", "INNER", "ORDER", "GROUP",
                                      "INDEXED", "LIMIT", "NATURAL", "USING"}:
            names.add(m.group(1))
    return names


@pytest.fixture()
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    execute = db._Connection.execute

    def record(self: db._Connection, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        seen.append((sql, parameters))
        return execute(self, sql, parameters)

    monkeypatch.setattr(db._Connection, "execute", record)
    return seen


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_reading_command_never_scans_the_log(tmp_path: Path, recorded: list[tuple[str, Any]],
                                                argv: list[str]) -> None:
    root = str(tmp_path / "state")
    assert main(["--root", root, "volume", "create", "data"]) == 0  # a volume: its query runs
    recorded.clear()
    assert main(["--root", root, *argv]) == 0
    touching = [(sql, p) for sql, p in recorded if re.search(r"\bevents\b", sql) and
                sql.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert touching, "the command read no event: the recorder missed its connection"
    conn = sqlite3.connect(db.db_path(root))
    try:
        scans = [(sql, t) for sql, p in touching for t in scanned_tables(conn, sql, p) if t in names_of_events(sql)]
    finally:
        conn.close()
    assert scans == []
