"""Terminals and signals as a person at a shell meets them (issue 15).

`run -it`, `create -t` + `start -a` and `exec -it` give the command a pty of the
container's own devpts; what is typed before the shell is ready reaches it; and
every process started in a container starts with no signal ignored or blocked.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import signal
import subprocess
import time

from tests.integration.conftest import MYDOCKER, PtySession
from tests.unit.test_terminal_and_signals import ignore_libc_reserved

# --network none: these tests are about the terminal, and a PtySession does not
# carry the fixture's network settings (MYDOCKER_BRIDGE_SUBNET).
NONE = ("--network", "none")


def _finish(session: PtySession, timeout: float = 30) -> int:
    """Read everything the session prints until it ends; its exit code. A session
    still running after timeout is killed (the input it waited for was lost)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([session.fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(session.fd, 4096)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            session.output += chunk
    else:
        os.kill(session.pid, signal.SIGKILL)
    return session.exit_code()


def test_run_it_gets_a_pty_of_the_containers_own_devpts(md):
    session = PtySession(md.root, "run", "-it", "--rm", *NONE, "busybox", "sh")
    session.read_until(b"# ")
    session.type(b"tty; ls /dev/pts; readlink /proc/self/fd/0; echo $((6*7))")
    session.read_until(b"42\r\n")
    lines = session.output.decode(errors="replace").splitlines()
    assert "/dev/pts/0" in lines, session.output  # `tty` names it
    assert any(line.split() == ["0", "ptmx"] for line in lines), session.output  # it lives in /dev/pts
    session.type(b"exit 4")
    assert session.exit_code() == 4


def test_create_t_then_start_a_gets_a_pty_of_the_containers_own_devpts(md):
    md.ok("create", "-t", "--name", "later", *NONE, "busybox", "sh", "-c", "tty; ls /dev/pts")
    session = PtySession(md.root, "start", "-a", "later")
    session.read_until(b"ptmx")
    assert session.exit_code() == 0
    lines = [line.strip() for line in session.output.decode(errors="replace").splitlines()]
    assert "/dev/pts/0" in lines, session.output
    assert "/dev/pts/0" in md.ok("logs", "later").split()
    md.ok("rm", "later")


def _through_script(md, *args: str) -> tuple[int, bytes]:
    """The issue's own reproduction: `(printf 'echo typed; exit 6\\n'; sleep 3) |
    script -qec 'mydocker ...'`. script(1) gives mydocker a terminal whose input
    is already waiting when mydocker puts it in raw mode."""
    command = shlex.join([MYDOCKER, "--root", str(md.root), *args])
    proc = subprocess.Popen(["script", "-qec", command, "/dev/null"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdin is not None
    proc.stdin.write(b"echo typed; exit 6\n")
    proc.stdin.flush()
    # stdin stays open (the issue's `sleep 3`): the shell's own `exit` must end it.
    assert proc.stdout is not None
    out = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
    else:
        proc.kill()  # the input was lost: the shell still waits for it
    proc.stdin.close()
    proc.stdout.close()
    return proc.wait(), out.replace(b"echo typed", b"")


def test_input_typed_before_the_shell_is_ready_reaches_it_through_script(md):
    code, out = _through_script(md, "run", "-it", "--rm", *NONE, "busybox", "sh")
    assert code == 6 and b"typed\r\n" in out, out
    md.ok("run", "-d", "--name", "box", *NONE, "busybox", "top")
    code, out = _through_script(md, "exec", "-it", "box", "sh")
    assert code == 6 and b"typed\r\n" in out, out
    md.ok("rm", "-f", "box")


def test_input_typed_before_run_it_starts_is_kept(md):
    session = PtySession(md.root, "run", "-it", "--rm", *NONE, "busybox", "sh")
    session.type(b"echo early-$((2+3)); exit 7")  # before mydocker has even started
    assert _finish(session) == 7
    assert b"early-5" in session.output


def test_input_typed_before_exec_it_starts_is_kept(md):
    md.ok("run", "-d", "--name", "box", *NONE, "busybox", "top")
    session = PtySession(md.root, "exec", "-it", "box", "sh")
    session.type(b"echo early-$((2+4)); exit 8")
    assert _finish(session) == 8
    assert b"early-6" in session.output
    md.ok("rm", "-f", "box")


# --- signals -------------------------------------------------------------------

def _hostile_parent() -> None:
    """Ignore and block every signal we can before mydocker starts: nothing of
    that may reach a process in a container."""
    for sig in signal.valid_signals():
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            try:
                signal.signal(sig, signal.SIG_IGN)
            except (OSError, ValueError):
                pass
    ignore_libc_reserved()
    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())


def _masks(md, *args: str) -> dict[str, str]:
    proc = subprocess.run([MYDOCKER, "--root", str(md.root), *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **md.env}, stdin=subprocess.DEVNULL,
                          preexec_fn=_hostile_parent)
    assert proc.returncode == 0, proc.stderr
    return dict(re.findall(r"^(Sig(?:Ign|Blk)):\s*([0-9a-f]+)$", proc.stdout, re.M))


NOTHING = {"SigIgn": "0000000000000000", "SigBlk": "0000000000000000"}


def test_the_hostile_parent_does_ignore_and_block_signals():
    """The tests below would prove nothing if the parent's masks did not carry over."""
    proc = subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True,
                          preexec_fn=_hostile_parent, check=True)
    masks = dict(re.findall(r"^(Sig(?:Ign|Blk)):\s*([0-9a-f]+)$", proc.stdout, re.M))
    assert int(masks["SigIgn"], 16) == (1 << 64) - 1 - (1 << 8) - (1 << 18)  # all but KILL and STOP
    assert int(masks["SigBlk"], 16)


def test_run_starts_the_command_with_no_signal_ignored_or_blocked(md):
    assert _masks(md, "run", "--rm", *NONE, "busybox", "cat", "/proc/self/status") == NOTHING


def test_run_tty_starts_the_command_with_no_signal_ignored_or_blocked(md):
    assert _masks(md, "run", "-t", "--rm", *NONE, "busybox", "cat", "/proc/self/status") == NOTHING


def test_run_init_starts_the_command_with_no_signal_ignored_or_blocked(md):
    assert _masks(md, "run", "--rm", "--init", *NONE, "busybox", "cat", "/proc/self/status") == NOTHING


def test_exec_starts_the_command_with_no_signal_ignored_or_blocked(md):
    md.ok("run", "-d", "--name", "sig", *NONE, "busybox", "top")
    assert _masks(md, "exec", "sig", "cat", "/proc/self/status") == NOTHING
    assert _masks(md, "exec", "-t", "sig", "cat", "/proc/self/status") == NOTHING
    md.ok("rm", "-f", "sig")


def test_a_non_root_command_owns_its_pty(md):
    """runc's fixStdioPermissions: the user the command runs as owns its pty (the
    group stays the mount's), so it can reopen its own /dev/pts/N."""
    show = ["sh", "-c", "stat -c '%u:%g' $(tty); echo ok > $(tty)"]
    out = md.ok("run", "-t", "--rm", "-u", "1000", *NONE, "busybox", *show)
    assert out.split() == ["1000:0", "ok"], out
    md.ok("run", "-d", "--name", "own", *NONE, "busybox", "top")
    out = md.ok("exec", "-t", "-u", "1000", "own", *show)
    assert out.split() == ["1000:0", "ok"], out
    md.ok("rm", "-f", "own")


def _sized_session(md, rows: int, cols: int, *args: str) -> PtySession:
    import fcntl
    import struct
    import termios

    session = PtySession(md.root, *args)
    fcntl.ioctl(session.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return session


def test_the_containers_pty_has_the_users_terminal_size(md):
    session = _sized_session(md, 31, 97, "run", "-it", "--rm", *NONE, "busybox", "sh")
    session.type(b"stty size; exit 0")
    assert _finish(session) == 0
    assert b"31 97\r\n" in session.output
    md.ok("run", "-d", "--name", "sized", *NONE, "busybox", "top")
    session = _sized_session(md, 33, 101, "exec", "-it", "sized", "sh")
    session.type(b"stty size; exit 0")
    assert _finish(session) == 0
    assert b"33 101\r\n" in session.output
    md.ok("rm", "-f", "sized")
