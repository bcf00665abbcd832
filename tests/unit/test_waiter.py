"""core.waiter: the minimal process a detached container's monitor becomes.

A driver process plays the monitor: it forks a "container" that writes to stdout
and stderr, waits on a FIFO the test controls, and exits 3; then it hands over to
the waiter. The test checks the waiter is a bare interpreter while the container
runs, that the log holds both streams, and that the exit command ran in the same
process with the container's wait status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mydocker.core import roottags
from mydocker.core.logs import parse_lines

DRIVER = """
import json, os, sys
from mydocker.core import waiter

fifo, log, record = sys.argv[1:4]
out_r, out_w = os.pipe()
err_r, err_w = os.pipe()
keep_r, keep_w = os.pipe()  # like `run -di`: held open for the container, never read
child = os.fork()
if child == 0:
    os.write(out_w, b"to stdout\\n")
    os.write(err_w, b"to stderr, no newline")
    with open(fifo) as f:  # blocks until the test opens it: the container is "running"
        f.read()
    os._exit(3)
for fd in (out_w, err_w, keep_r):
    os.close(fd)
print(os.getpid(), child, flush=True)
exit_command = [sys.executable, "-c",
                "import json, os, sys; json.dump([os.getpid(), sys.argv[1:]], open(sys.argv[1], 'w'))", record]
waiter.hand_over("/the/root", child, log, {out_r: "stdout", err_r: "stderr"}, [keep_w], exit_command)
sys.exit("hand_over returned")
"""


def _wait_for(predicate, what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit  # a bound on a hang, not a speed check
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_waiter_copies_the_logs_then_execs_the_exit_command_with_the_status(tmp_path: Path) -> None:
    fifo, log, record = tmp_path / "go", tmp_path / "container.log", tmp_path / "record.json"
    os.mkfifo(fifo)
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(fifo), str(log), str(record)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert driver.stdout is not None
        pid, _child = (int(x) for x in driver.stdout.readline().split())
        cmdline = Path(f"/proc/{pid}/cmdline")
        _wait_for(lambda: b"waiter.py" in cmdline.read_bytes(), "the monitor never became the waiter")
        argv = cmdline.read_bytes().split(b"\0")
        assert argv[1:3] == [b"-I", b"-S"]
        assert roottags.processes_of("/the/root") == [pid], "the waiter is one of its root's processes"
        _wait_for(lambda: log.exists() and "to stdout" in log.read_text(), "the waiter copied nothing")
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "site-packages" not in maps and "sqlite" not in maps, "the waiter loaded more than it needs"
        with open(fifo, "w") as f:  # let the container exit
            f.write("go")
        assert driver.wait(timeout=60) == 0, driver.stderr.read() if driver.stderr else ""
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    same_pid, args = json.loads(record.read_text())
    assert same_pid == pid, "the exit command runs in the monitor's own process"
    assert os.waitstatus_to_exitcode(int(args[-1])) == 3
    records = list(parse_lines(iter(log.read_text().splitlines(keepends=True))))
    assert [(r["stream"], r["log"]) for r in records] == [("stdout", "to stdout\n"),
                                                          ("stderr", "to stderr, no newline")]
