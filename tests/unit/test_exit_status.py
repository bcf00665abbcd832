"""The status the waiter publishes when the container's init exits (core.waiter),
read by a `stop` or `rm -f` waiting for that exit (core.exitstatus.await_status)
instead of waiting for the exit handler's fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from mydocker.core import exitstatus, procinfo

DRIVER = """
import os, sys
from mydocker.core import waiter

fifo, log, record = sys.argv[1:4]
out_r, out_w = os.pipe()
child = os.fork()
if child == 0:
    with open(fifo) as f:  # blocks until the test opens it: the container is "running"
        f.read()
    os._exit(5)
os.close(out_w)
print(os.getpid(), child, flush=True)
# the exit command copies what it finds published: the status must be there before the exec
exit_command = [sys.executable, "-c",
                "import os, shutil, sys; shutil.copy(os.path.join(os.path.dirname(sys.argv[2]), 'exit-status'), "
                "sys.argv[1])", record, log]
waiter.hand_over("/the/root", child, log, {out_r: "stdout"}, [], exit_command)
sys.exit("hand_over returned")
"""


def test_the_waiter_publishes_the_reaped_status_before_it_execs_the_exit_command(tmp_path: Path) -> None:
    fifo, log, record = tmp_path / "go", tmp_path / "container.log", tmp_path / "record.json"
    os.mkfifo(fifo)
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(fifo), str(log), str(record)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert driver.stdout is not None
        _pid, child = (int(x) for x in driver.stdout.readline().split())
        started = procinfo.start_time(child)
        assert started is not None
        with open(fifo, "w") as f:  # let the container exit
            f.write("go")
        assert driver.wait(timeout=60) == 0, driver.stderr.read() if driver.stderr else ""
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    published = json.loads(record.read_text())
    assert published["pid"] == child and published["pid_start"] == started
    assert os.waitstatus_to_exitcode(published["status"]) == 5
    assert exitstatus.published_status(tmp_path, child, started) == published["status"]
    assert exitstatus.published_status(tmp_path, child, started + 1) is None, "another run's status is not ours"
    assert exitstatus.published_status(tmp_path, child + 1, started) is None


def test_publish_replaces_an_earlier_runs_status_whole(tmp_path: Path) -> None:
    path = str(tmp_path / exitstatus.STATUS_FILE)
    exitstatus.publish(path, 10, 100, 0)
    exitstatus.publish(path, 11, 200, 9)
    assert exitstatus.published_status(tmp_path, 10, 100) is None
    assert exitstatus.published_status(tmp_path, 11, 200) == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == [exitstatus.STATUS_FILE], "no temporary file is left"
    (tmp_path / exitstatus.STATUS_FILE).write_text("{")  # torn or garbled: no status, not an error
    assert exitstatus.published_status(tmp_path, 11, 200) is None


def test_await_status_returns_the_status_once_published(tmp_path: Path) -> None:
    monitor = subprocess.Popen(["sleep", "60"])
    try:
        publisher = threading.Timer(0.1, exitstatus.publish, (str(tmp_path / exitstatus.STATUS_FILE), 42, 4242, 3 << 8))
        publisher.start()
        assert exitstatus.await_status(tmp_path, 42, 4242, monitor.pid, 60) == 3 << 8
        assert monitor.poll() is None, "the status came while the monitor still runs"
    finally:
        monitor.kill()
        monitor.wait()


def test_await_status_gives_up_when_the_monitor_ends_without_one(tmp_path: Path) -> None:
    """A killed waiter, a foreground monitor or a watcher publishes nothing: the
    caller falls back to what the monitor recorded (or to `monitor lost')."""
    exitstatus.publish(str(tmp_path / exitstatus.STATUS_FILE), 42, 1, 0)  # an earlier run's
    monitor = subprocess.Popen(["sleep", "0.2"])
    assert exitstatus.await_status(tmp_path, 42, 4242, monitor.pid, 600) is None
    monitor.wait()
    gone = monitor.pid
    assert exitstatus.await_status(tmp_path, 42, 4242, gone, 60) is None


def test_start_time_of_a_zombie_is_the_one_it_had_alive() -> None:
    child = subprocess.Popen(["sleep", "0.1"])
    alive = procinfo.start_time(child.pid)
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
    assert procinfo.start_time(child.pid) is None
    assert exitstatus.start_time(child.pid) == alive
    child.wait()
    assert exitstatus.start_time(child.pid) is None
