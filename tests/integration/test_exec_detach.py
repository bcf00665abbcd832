"""exec's detach (issue 10, helper flags3): the detach keys of `exec -it` leave the
command running, as docker 20.10's ("read escape sequence", exit 1), and its end is
still recorded; `exec -d -t` gives the command a pty whose output nobody reads."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.integration.conftest import PtySession, _checked_runtime


@pytest.fixture(scope="module")
def mde(tmp_path_factory: pytest.TempPathFactory):
    runtime = _checked_runtime(tmp_path_factory.mktemp("exec-detach"))
    md = next(runtime)
    md.ok("run", "-d", "--name", "box", "--network", "none", "busybox", "sleep", "600")
    yield md
    md.ok("rm", "-f", "box")
    next(runtime, None)


def _exec_dies(md) -> list[dict]:
    with md.db() as conn:
        return [json.loads(r[0]) for r in conn.execute(
            "SELECT payload FROM events WHERE type = 'exec_die' ORDER BY rowid")]


def _wait_for(predicate, what: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout}s")


def _shells(md) -> list[str]:
    return [line.split()[0] for line in md.ok("exec", "box", "ps", "-o", "pid,args").splitlines()
            if line.split()[1:] == ["sh"]]


@pytest.mark.parametrize("flags, keys", [([], b"\x10\x11"), (["--detach-keys", "ctrl-x,y"], b"\x18y")])
def test_exec_it_detaches_and_the_command_runs_on(mde, flags, keys):
    before = len(_exec_dies(mde))
    session = PtySession(mde.root, "exec", "-it", *flags, "box", "sh")
    session.type(b"echo up-$((40+2))")
    session.read_until(b"up-42")
    os.write(session.fd, keys)
    session.read_until(b"read escape sequence")
    assert session.exit_code() == 1  # docker's, for a detach
    shells = _shells(mde)
    assert len(shells) == 1, shells  # the detached shell, still there
    assert len(_exec_dies(mde)) == before + 1  # the ps above; the shell has not ended
    mde.ok("exec", "box", "kill", "-9", shells[0])
    # a process of ours waited on and records how it ended
    dies = _wait_for(lambda: [d for d in _exec_dies(mde)[before:] if d["exit_code"] == 137], "exec_die of the shell")
    assert len(dies) == 1


def test_bad_exec_detach_keys(mde):
    r = mde("exec", "--detach-keys", "foo", "box", "true")
    assert (r.code, r.err) == (1, "Error: Invalid escape keys (foo) provided\n")


def test_exec_d_t_has_a_terminal_whose_output_is_discarded(mde):
    out = mde.ok("exec", "-d", "-t", "box", "sh", "-c", "tty > /tty.txt; yes | head -c 200000; echo done > /done")
    assert out == ""
    _wait_for(lambda: mde("exec", "box", "test", "-e", "/done").code == 0, "end of the detached command")
    assert mde.ok("exec", "box", "cat", "/tty.txt").startswith("/dev/pts/")
    # without -t it has none, as before
    mde.ok("exec", "-d", "box", "sh", "-c", "tty > /tty2.txt 2>&1; echo done > /done2")
    _wait_for(lambda: mde("exec", "box", "test", "-e", "/done2").code == 0, "end of the detached command")
    assert mde.ok("exec", "box", "cat", "/tty2.txt") == "not a tty\n"
