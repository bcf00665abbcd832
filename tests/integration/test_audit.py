"""The README's audit queries, run with the sqlite3 shell and the sqlite-utils
CLI against a log this test writes, must return the rows the README promises."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_queries() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), re.DOTALL)
    return ["\n".join(line for line in b.splitlines() if not line.startswith("--")) for b in blocks]


def sqlite3_rows(db: Path, sql: str) -> list[list[str]]:
    out = subprocess.run(["sqlite3", "-separator", "|", str(db), sql], capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.splitlines()]


@pytest.fixture
def history(md, tmp_path):
    """web: run, stop, start, rm -f; hog: OOM; lost: its monitor dies with it."""
    md.ok("run", "-d", "--name", "web", "busybox", "top")
    md.ok("stop", "-t", "2", "web")
    md.ok("start", "web")
    md.ok("rm", "-f", "web")
    assert md("run", "--name", "hog", "-m", "32m", "busybox", "sh", "-c",
              "x=a; while true; do x=$x$x; done", timeout=120).code == 137
    md.ok("run", "-d", "--name", "lost", "busybox", "top")
    info = md.inspect("lost")
    import os
    import signal

    os.kill(info["Mydocker"]["MonitorPid"], signal.SIGKILL)
    os.kill(info["State"]["Pid"], signal.SIGKILL)
    import time

    time.sleep(0.3)
    md.ok("ps", "-a")  # reconciles: records the unseen death
    yield md.root / "mydocker.db"
    md.ok("rm", "hog", "lost")


def test_readme_has_the_five_queries():
    assert len(readme_queries()) == 5


def test_readme_queries_return_the_promised_rows(history):
    q = readme_queries()
    life = sqlite3_rows(history, q[0])
    assert [row[1] for row in life] == ["create", "connect", "start", "kill", "die", "disconnect", "stop",
                                        "connect", "start", "kill", "die", "disconnect", "destroying", "destroy"]
    assert life[0][2].startswith("run -d --name web") and life[-1][2] == "rm -f web"
    assert life[4][3] == "143" and life[4][4] == "exited"  # top exits 143 on SIGTERM itself

    assert sqlite3_rows(history, q[1]) == [["hog", "137"]]

    ends = {row[0]: row for row in sqlite3_rows(history, q[2])}
    assert ends["web"][1:] == ["2", "137", "killed by signal 9", "1", "1"]
    assert ends["hog"][2:4] == ["137", "oom"] and ends["hog"][4] == "0"
    assert ends["lost"][3] == "monitor lost"

    assert sqlite3_rows(history, q[3]) == [["web", "root", "rm -f web"]]
    assert sqlite3_rows(history, q[4]) == [["lost", "monitor lost"]]


def test_queries_run_with_the_sqlite_utils_cli(history):
    cli = shutil.which("sqlite-utils", path=str(Path(sys.executable).parent))
    assert cli, "sqlite-utils CLI is installed with the project"
    out = subprocess.run([cli, "query", str(history), readme_queries()[1]], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == [{"name": "hog", "exit_code": 137}]
