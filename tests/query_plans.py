"""Which statements of a MYDOCKER_SQL_TRACE file read `events` from end to end.

SQLite picks plans without statistics (nothing here runs ANALYZE), so the plan a
statement gets on a test's small log is the plan it gets on a month-old log of a
million events: a SCAN of `events` there is a read of the whole log on every command."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

_NOT_ALIASES = {"WHERE", "ON", "JOIN", "CROSS", "LEFT", "INNER", "ORDER", "GROUP", "INDEXED", "LIMIT",
                "NATURAL", "USING", "UNION", "AND", "OR"}


def statements(trace: Path) -> list[str]:
    return [json.loads(line) for line in trace.read_text().splitlines() if line]


def names_of_events(sql: str) -> set[str]:
    """`events` and the aliases the statement gives it."""
    names = {"events"}
    for m in re.finditer(r"\bevents\s+(?:AS\s+)?(\w+)", sql, re.IGNORECASE):
        if m.group(1).upper() not in _NOT_ALIASES:
            names.add(m.group(1))
    return names


def scans_of_events(database: Path, trace: Path) -> list[str]:
    """The traced queries whose plan scans `events` (each once, with the scanned name)."""
    reads = {sql for sql in statements(trace)
             if re.search(r"\bevents\b", sql) and sql.lstrip().upper().startswith(("SELECT", "WITH"))}
    assert reads, f"{trace} holds no read of the log: nothing was traced"
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    try:
        found = []
        for sql in sorted(reads):
            plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            scanned = {m.group(1) for row in plan if (m := re.match(r"SCAN (\w+)", row[3]))}
            if scanned & names_of_events(sql):
                found.append(f"{sorted(scanned)}: {' '.join(sql.split())}")
        return found
    finally:
        conn.close()
