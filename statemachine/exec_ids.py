"""The ids of a container's execs that are running now (docker's ExecIDs): an
exec_start of the container's current run with no exec_die after it."""

from __future__ import annotations

import sqlite3

from mydocker.statemachine.machine import alive
from mydocker.statemachine.queries import ContainerView

_RUNNING = """
SELECT json_extract(s.payload, '$.exec_id') FROM events AS s
WHERE s.stream_id = :id AND s.type = 'exec_start'
  AND json_extract(s.payload, '$.pid') = :pid AND json_extract(s.payload, '$.pid_start') = :pid_start
  AND NOT EXISTS (SELECT 1 FROM events AS d WHERE d.stream_id = :id AND d.type = 'exec_die'
                  AND d.version > s.version
                  AND json_extract(d.payload, '$.exec_id') = json_extract(s.payload, '$.exec_id'))
ORDER BY s.version
"""


def running(conn: sqlite3.Connection, view: ContainerView) -> list[str] | None:
    """None when there are none, as docker's inspect shows null."""
    if not alive(view) or not view.row.get("pid"):
        return None
    ids = [r[0] for r in conn.execute(_RUNNING, {"id": view.id, "pid": view.row["pid"],
                                                  "pid_start": view.row["pid_start"]})]
    return ids or None
