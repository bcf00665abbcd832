"""A container's whole life, from the CLI and its monitor, never reads the whole log:
every query of run, exec, logs, inspect, stop, start, kill, rename, rm, rm -f (on the
default bridge and with no network) and system check's leak search goes through an index
(tests/query_plans.py). system check's PRAGMA integrity_check reads the whole file, on
purpose, and is not a query of `events`."""

from __future__ import annotations

from pathlib import Path

from tests.query_plans import scans_of_events


def test_a_lifecycle_never_scans_the_log(md, tmp_path: Path) -> None:
    md.ok("volume", "create", "qp-data")  # so that the volume queries have a row to find
    trace = tmp_path / "trace.jsonl"
    md.env["MYDOCKER_SQL_TRACE"] = str(trace)
    md.ok("run", "--rm", "--network", "none", "busybox", "true")
    md.ok("run", "-d", "--name", "qp", "-v", "qp-data:/data", "busybox", "sleep", "60")
    md.ok("exec", "qp", "true")
    md.ok("system", "check")  # its leak search lists every stream the log ever had
    md.ok("logs", "qp")
    md.ok("inspect", "qp")
    md.ok("rename", "qp", "qp2")
    md.ok("stop", "-t", "1", "qp2")
    md.ok("start", "qp2")
    md.ok("kill", "qp2")
    md.ok("wait", "qp2")
    md.ok("rm", "qp2")
    md.ok("create", "--name", "qp3", "--network", "none", "busybox", "true")
    md.ok("start", "-a", "qp3")
    md.ok("rm", "qp3")
    md.ok("run", "-d", "--name", "qp4", "busybox", "sleep", "60")
    md.ok("rm", "-f", "qp4")
    md.ok("ps", "-a")
    del md.env["MYDOCKER_SQL_TRACE"]
    assert scans_of_events(md.root / "mydocker.db", trace) == []
