"""Every command's import set is a budget (issue 16): start-up is part of every
command's latency, and a module a command does not need costs it 10-130 ms.

Each command runs for real, in a fresh interpreter, against a root of its own, and
reports sys.modules as it ends. Read commands may not load the state machine's
library, sqlite-utils, pyroute2 or a seccomp binding; commands that act on a container
without a network may not load pyroute2, nor sqlite-utils to append their events.

The containers are made with `create --network none` (no kernel needed); the two that
must be running get a `start` event naming a real `sleep` and a stand-in monitor
(its parent), so stop and kill take their real paths.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mydocker runs as root")

# aiohttp is the Engine API service's alone (`system service`); datasette (and its
# uvicorn, jinja2...) is `audit serve`'s alone.
READ_FORBIDDEN = {"transitions", "sqlite_utils", "pyroute2", "pyseccomp", "aiohttp", "datasette", "uvicorn"}
NO_NETWORK_FORBIDDEN = {"pyroute2", "sqlite_utils", "pyseccomp", "aiohttp", "datasette", "uvicorn"}
# Standard modules a read command has no use for, each 3-15 ms of its start-up:
# dataclasses (inspect, dis, ast), shutil (bz2, lzma), what writers of layers use.
READ_FORBIDDEN_STDLIB = {"dataclasses", "shutil", "hashlib", "tempfile", "subprocess", "socket", "platform"}

# Runs one command like the `mydocker` script does, then prints what it imported.
PROBE = """
import json, sys
from mydocker.cli.main import main
try:
    code = main(sys.argv[2:])
finally:
    with open(sys.argv[1], "w") as f:
        json.dump(sorted(sys.modules), f)
sys.exit(code)
"""

# A stand-in monitor: parent of the container's "init", gone when it is.
MONITOR = """
import subprocess, sys
child = subprocess.Popen(["sleep", "3600"])
print(child.pid, flush=True)
child.wait()
"""


def probe(tmp_path: Path, root: Path, *argv: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    out = tmp_path / f"modules-{len(list(tmp_path.glob('modules-*')))}.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), "--root", str(root), *argv],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"mydocker {' '.join(argv)} -> {proc.returncode}: {proc.stderr}"
    modules = set(json.loads(out.read_text()))
    return {m.split(".")[0] for m in modules}, proc


def heavy(loaded: set[str], forbidden: set[str]) -> set[str]:
    return loaded & forbidden


class Rig:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.root = tmp_path / "root"
        self.monitors: list[subprocess.Popen[str]] = []

    def cli(self, *argv: str) -> str:
        return probe(self.tmp, self.root, *argv)[1].stdout

    def running(self, name: str) -> str:
        """A created container recorded as started, its init a real sleep."""
        from mydocker.core import procinfo
        from mydocker.store.db import connect
        from mydocker.store.events import Event, append, stream_version

        cid = self.cli("create", "--network", "none", "--name", name, "busybox", "sleep", "3600").strip()
        monitor = subprocess.Popen([sys.executable, "-c", MONITOR], stdout=subprocess.PIPE, text=True)
        self.monitors.append(monitor)
        threading.Thread(target=monitor.wait, daemon=True).start()  # reaped as soon as it ends
        assert monitor.stdout is not None
        pid = int(monitor.stdout.readline())
        conn = connect(self.root)
        try:
            append(conn, "container", cid, stream_version(conn, cid), [Event("start", {
                "pid": pid, "pid_start": procinfo.start_time(pid), "boot_id": procinfo.boot_id(),
                "monitor_pid": monitor.pid, "monitor_start": procinfo.start_time(monitor.pid)})])
        finally:
            conn.close()
        return cid

    def close(self) -> None:
        for monitor in self.monitors:
            if monitor.poll() is None:
                monitor.kill()
            monitor.wait()


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path)
    r.cli("images")  # builds busybox in this root
    cid = r.cli("create", "--network", "none", "--name", "done", "busybox", "echo", "hi").strip()
    from mydocker.core.logs import LogWriter

    directory = r.root / "containers" / cid  # made by start; create records only where
    directory.mkdir(parents=True, exist_ok=True)
    log = LogWriter(directory / "container.log")
    log.write("stdout", b"hi\n")
    log.close()
    try:
        yield r
    finally:
        r.close()


@pytest.mark.parametrize("argv", [
    ["ps", "-a"],
    ["ps", "-a", "--format", "{{.ID}} {{.Status}}"],
    ["images"],
    ["inspect", "done"],
    ["inspect", "--format", "{{.State.Status}}", "done"],
    ["logs", "done"],
    ["events", "--since", "0", "--until", "UNTIL"],
    ["audit", "export", "--format", "csv", "-f", "event=create"],
])
def test_read_commands_import_no_heavy_library(rig: Rig, argv: list[str]) -> None:
    until = "0s"  # now: events streams until --until, as docker's does
    loaded, proc = probe(rig.tmp, rig.root, *[until if a == "UNTIL" else a for a in argv])
    assert proc.stdout  # it did its job
    assert not heavy(loaded, READ_FORBIDDEN), f"{argv[0]} imports {heavy(loaded, READ_FORBIDDEN)}"
    if argv[0] != "audit":  # the export's csv writer is its own business
        assert not heavy(loaded, READ_FORBIDDEN_STDLIB), f"{argv[0]} imports {heavy(loaded, READ_FORBIDDEN_STDLIB)}"


def test_rm_of_a_container_without_network_imports_no_network_code(rig: Rig) -> None:
    rig.cli("create", "--network", "none", "--name", "gone", "busybox", "true")
    loaded, proc = probe(rig.tmp, rig.root, "rm", "gone")
    assert proc.stdout.strip() == "gone"
    assert not heavy(loaded, NO_NETWORK_FORBIDDEN), f"rm imports {heavy(loaded, NO_NETWORK_FORBIDDEN)}"
    assert "transitions" in loaded  # the machine judged it: the probe saw the real path


@pytest.mark.parametrize("argv", [["stop", "-t", "5"], ["kill"], ["rm", "-f"]])
def test_commands_on_a_running_container_without_network_import_no_network_code(rig: Rig, argv: list[str]) -> None:
    rig.running("busy")
    loaded, proc = probe(rig.tmp, rig.root, *argv, "busy")
    assert proc.stdout.strip() == "busy"
    assert not heavy(loaded, NO_NETWORK_FORBIDDEN), f"{argv[0]} imports {heavy(loaded, NO_NETWORK_FORBIDDEN)}"
    state = rig.cli("ps", "-a", "--format", "{{.Names}} {{.State}}")
    assert "busy running" not in state


def test_a_warm_pull_loads_no_dataclasses_and_no_platform() -> None:
    """The up-to-date check of a warm pull (one HEAD) and the names and platforms it
    parses: dataclasses and platform cost it ~15 ms before the HEAD is sent."""
    code = ("import json, sys; import mydocker.cli.commands.pull, mydocker.cli.pulling, "
            "mydocker.statemachine.pull_uptodate, mydocker.core.registry_head; "
            "mydocker.core.platforms.host_platform(); print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = {m.split(".")[0] for m in json.loads(out)}
    assert "mydocker" in loaded
    assert not loaded & {"dataclasses", "platform", "tempfile"}, loaded & {"dataclasses", "platform", "tempfile"}


def test_only_the_api_service_imports_aiohttp() -> None:
    """Every import statement of the project, read from the source: aiohttp (and the
    cli/api package that wraps it) is imported by cli/api and `system service` only."""
    import ast

    top = Path(__file__).resolve().parents[2]
    allowed = {top / "cli" / "commands" / "system_service.py"}
    offenders = []
    for folder in ("cli", "core", "statemachine", "store"):
        for path in (top / folder).rglob("*.py"):
            if (top / "cli" / "api") in path.parents or path in allowed:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(n.split(".")[0] == "aiohttp" or n.startswith("mydocker.cli.api") for n in names):
                    offenders.append(f"{path.relative_to(top)}:{node.lineno}")
    assert not offenders, f"aiohttp imported outside the API service: {offenders}"
    assert any("aiohttp" in line for line in (top / "cli" / "api" / "app.py").read_text().splitlines()
               if line.startswith(("import", "from")))  # the scan reads real files
