"""attach as docker 20.10 does it: stdin to a container started with -i, the
detach keys (ctrl-p,ctrl-q or --detach-keys) that leave it running, --no-stdin,
the container's exit code at its end, and docker's refusals."""

from __future__ import annotations

import os
import select
import subprocess
import time

from tests.integration.conftest import MYDOCKER, PtySession

NONE = ("--network", "none")
LOOP = 'while read l; do [ "$l" = quit ] && exit 7; echo got:$l; done'


def test_stdin_reaches_a_container_started_with_i_and_its_exit_code_comes_back(md):
    md.ok("run", "-di", "--name", "reader", *NONE, "busybox", "sh", "-c", LOOP)
    result = md("attach", "reader", input="one\ntwo\nquit\n")
    assert (result.code, result.out) == (7, "got:one\ngot:two\n"), result
    assert md.inspect("reader")["State"]["ExitCode"] == 7
    # started again, its stdin is open again for the next attach
    md.ok("start", "reader")
    assert md("attach", "reader", input="three\nquit\n").out == "got:three\n"
    md.ok("rm", "reader")


def test_no_stdin_and_detach_keys_without_a_tty(md):
    md.ok("run", "-di", "--name", "shared", *NONE, "busybox", "sh", "-c", LOOP)
    watcher = subprocess.Popen([MYDOCKER, "--root", str(md.root), "attach", "--no-stdin", "shared"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watcher.stdin.write(b"ignored\n")
    watcher.stdin.flush()
    seen = b""
    # Each round starts a whole mydocker process: on a loaded machine the watcher may
    # take many rounds to connect, so the deadline is generous (met at once when idle).
    deadline = time.monotonic() + 90
    pings = 0
    while b"got:ping" not in seen and time.monotonic() < deadline:
        # the watcher may not be connected yet: ping until it sees one; each
        # pinger leaves with the detach keys, the container running on
        pinger = md("attach", "--detach-keys", "ctrl-x,y", "shared", input="ping\n\x18y")
        assert pinger.code == 1 and pinger.err == "read escape sequence\n", pinger
        pings += 1
        if select.select([watcher.stdout], [], [], 0.5)[0]:
            seen += os.read(watcher.stdout.fileno(), 4096)
    assert b"got:ping" in seen, (pings, seen, watcher.poll(), md("logs", "shared").out)
    state = md.inspect("shared")["State"]
    assert state["Status"] == "running", (state, md("logs", "shared").out, md("events", "--until", "0s").out)
    md("attach", "shared", input="quit\n")
    out, _ = watcher.communicate(timeout=30)
    assert watcher.returncode == 7
    assert b"ignored" not in seen + out
    md.ok("rm", "shared")


def test_tty_attach_types_into_the_shell_and_ctrl_p_ctrl_q_detaches(md):
    md.ok("run", "-dit", "--name", "term", *NONE, "busybox", "sh")
    session = PtySession(md.root, "attach", "term")
    session.type(b"echo hi-$((40+2))")
    session.read_until(b"hi-42")
    os.write(session.fd, b"\x10\x11")
    session.read_until(b"read escape sequence")
    assert session.exit_code() == 1  # docker's, for a detach
    assert md.inspect("term")["State"]["Status"] == "running"
    refused = md("attach", "term")  # stdin is not a terminal here
    assert (refused.code, refused.err) == (1, "Error: the input device is not a TTY\n")
    bad = md("attach", "--detach-keys", "ctrl-", "term")
    assert bad.code == 1 and "Invalid detach keys (ctrl-) provided" in bad.err
    session = PtySession(md.root, "attach", "term")
    session.type(b"exit 3")
    assert session.exit_code() == 3
    md.ok("rm", "term")


def test_run_it_and_start_ai_detach_and_a_later_attach_finds_the_shell(md):
    session = PtySession(md.root, "run", "-it", "--name", "fg", *NONE, "busybox", "sh")
    session.type(b"echo one-$((1+1))")
    session.read_until(b"one-2")
    os.write(session.fd, b"\x10\x11")
    assert session.exit_code() == 0  # docker's run: silent, 0
    assert md.inspect("fg")["State"]["Status"] == "running"
    session = PtySession(md.root, "attach", "fg")
    session.type(b"echo two-$((2+1))")
    session.read_until(b"two-3")
    session.type(b"exit 5")
    assert session.exit_code() == 5
    assert md.inspect("fg")["State"]["ExitCode"] == 5
    session = PtySession(md.root, "start", "-ai", "--detach-keys", "ctrl-x,y", "fg")
    session.type(b"echo three-$((3+1))")
    session.read_until(b"three-4")
    os.write(session.fd, b"\x18y")
    assert session.exit_code() == 0
    assert md.inspect("fg")["State"]["Status"] == "running"
    md.ok("rm", "-f", "fg")
