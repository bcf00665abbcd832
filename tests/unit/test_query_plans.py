"""No reading command scans the whole log: every query that touches `events` goes
through an index (tests/query_plans.py). A JOIN that SQLite turned inside out once made
`ps -a` read every event of a million-event log, 0.7 s on every command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mydocker.cli.main import main
from mydocker.store import db

from tests.query_plans import scans_of_events, statements

COMMANDS = [
    ["ps", "-a"],
    ["ps", "-a", "--at", "1h"],
    ["images"],
    ["images", "--at", "1h"],
    ["network", "ls"],
    ["volume", "ls"],
    ["volume", "ls", "--at", "1h"],
    ["volume", "inspect", "data"],
    ["events", "--since", "1h", "--until", "0s"],
    ["events", "--since", "1h", "--until", "0s", "--filter", "type=volume"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_reading_command_never_scans_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                argv: list[str]) -> None:
    root = tmp_path / "state"
    assert main(["--root", str(root), "volume", "create", "data"]) == 0  # a volume: its queries run
    trace = tmp_path / "trace.jsonl"
    monkeypatch.setenv(db.SQL_TRACE, str(trace))
    assert main(["--root", str(root), *argv]) == 0
    assert scans_of_events(db.db_path(root), trace) == []


def test_the_trace_holds_each_statement_with_its_parameters(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    trace = tmp_path / "trace.jsonl"
    monkeypatch.setenv(db.SQL_TRACE, str(trace))
    assert main(["--root", str(tmp_path / "state"), "volume", "create", "data"]) == 0
    assert any("INSERT" in sql and "'data'" in sql for sql in statements(trace))


def test_a_traced_connection_gives_its_file_back_when_closed(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(db.SQL_TRACE, str(tmp_path / "trace.jsonl"))
    db.connect(tmp_path / "state").close()  # the root and its database made first
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):  # a long-lived service opens many
        db.connect(tmp_path / "state").close()
    assert len(os.listdir("/proc/self/fd")) == before
