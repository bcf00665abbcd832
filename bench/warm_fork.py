"""What a warm command server would give (issue 16's proposed next design), measured, not built.

mydocker runs a fresh interpreter per command; the 1.0 x rows of issue 16 sit under the
floor of that (bench/RESULTS.md). The design proposed instead, as Mercurial's chg: a
process that has imported mydocker once listens on a unix socket; a thin client sends
its argv and its stdin/stdout/stderr (SCM_RIGHTS); the server forks a child that runs
the command with them and sends back the exit code. This script builds exactly that
round trip, in miniature, around the real `mydocker.cli.main.main` (a child process of this
script is the server; the client is `python3 -I -S` with only `socket` and `array`), and times each
command both ways on the same root, interleaved:

- cold: `mydocker --root R ARGS` as today (a fresh interpreter);
- warm: the thin client through the socket to a fork of this warm interpreter.

Rows: `ps -a` with 100 containers, `images`, `inspect`, `logs`, `rm` of a stopped
container, `run --rm --network none busybox true`. Every container is `--network none`
(no bridge is made); the root is a temp dir, removed at the end.

    .venv/bin/python bench/warm_fork.py [--repeat 9]

It prints a table (medians, ms) and the floor (`python3 -I -S -c 'import sqlite3'`).
A server of the product would also need: a per-root or per-host socket owned by root,
the client's environment and working directory, signal forwarding, a terminal for -it
(those commands could keep the cold path), and restarting itself when the code on disk
changes. None of that is here: this is the measurement behind the proposal.
"""

from __future__ import annotations

import argparse
import array
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MYDOCKER = str(Path(sys.executable).with_name("mydocker"))

CLIENT = r"""
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendmsg([("\0".join(sys.argv[2:])).encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))])
s.shutdown(socket.SHUT_WR)
code = s.recv(64).split()
sys.stdout.flush()
if "WARM_REPORT_FD" in os.environ and len(code) > 1:
    os.write(int(os.environ["WARM_REPORT_FD"]), code[1] + b"\n")
os._exit(int(code[0] if code else b"255"))
"""


def serve(path: str) -> None:
    """The server, a process of its own (single-threaded: a fork copies only the thread that
    forks). Accept a client, fork a child with its fds as 0/1/2 that runs main(argv), answer
    its code; until the socket file is removed."""
    # what it serves, imported once, as a product's server would at its start
    import mydocker.cli.commands as commands
    from mydocker.cli.main import main

    for module in ("ps", "images", "inspect", "logs", "rm", "run", "create"):
        __import__(f"{commands.__name__}.{module}")
    import mydocker.statemachine.lifecycle  # noqa: F401
    import mydocker.statemachine.machine  # noqa: F401

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o600)
    server.listen(8)
    server.settimeout(0.2)
    while os.path.exists(path):
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        fds = array.array("i")
        data, ancdata, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(3 * fds.itemsize))
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        argv = data.decode().split("\0")
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            try:
                for target, fd in enumerate(fds):
                    os.dup2(fd, target)
                sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the client's, for the child's life
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
                code = main(argv)
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001 - the child must never return into the server
                code = 255
            os._exit(code & 0xFF)
        for fd in fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        elapsed = (time.perf_counter() - started) * 1000  # the fork and the command, in the server
        conn.sendall(f"{os.waitstatus_to_exitcode(status) & 0xFF} {elapsed:.3f}".encode())
        conn.close()
    server.close()


def timed(argv: list[str], server_ms: list[float] | None = None) -> float:
    """Wall ms of the command; with server_ms, the client reports (on a pipe) the ms the
    server spent forking and running it, appended there."""
    read, write = os.pipe()
    started = time.perf_counter()
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False, pass_fds=(write,), env={**os.environ, "WARM_REPORT_FD": str(write)})
    elapsed = (time.perf_counter() - started) * 1000
    os.close(write)
    with os.fdopen(read) as report:
        said = report.read().split()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.decode().strip()}")
    if server_ms is not None:
        server_ms.append(float(said[0]))
    return elapsed


def quiet(argv: list[str]) -> str:
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--serve", metavar="SOCKET", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if os.geteuid() != 0:
        raise SystemExit("the benchmark runs containers: run it as root")
    tmp = tempfile.mkdtemp(prefix="mydocker-bench-warm-")
    root = os.path.join(tmp, "root")
    base = [MYDOCKER, "--root", root]
    path = os.path.join(tmp, "warm.sock")
    server = None
    try:
        quiet([*base, "run", "--network", "none", "--name", "kept", "busybox", "echo", "hello"])
        for n in range(99):
            quiet([*base, "create", "--network", "none", "--name", f"c{n}", "busybox", "true"])
        server = subprocess.Popen([sys.executable, __file__, "--serve", path], stdin=subprocess.DEVNULL)
        while not os.path.exists(path):
            if server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.01)
        client = [sys.executable, "-I", "-S", "-c", CLIENT, path]
        rows: dict[str, list[str]] = {
            "`ps -a` (100 containers)": ["--root", root, "ps", "-a"],
            "`images`": ["--root", root, "images"],
            "`inspect` of a stopped container": ["--root", root, "inspect", "kept"],
            "`logs` of a stopped container": ["--root", root, "logs", "kept"],
            "`rm` of a stopped container": ["--root", root, "rm", "{name}"],
            "`run --rm --network none busybox true`": ["--root", root, "run", "--rm", "--network", "none",
                                                       "busybox", "true"],
        }
        # the warm path answers what the cold one does
        assert quiet([*client, "--root", root, "logs", "kept"]) == quiet([*base, "logs", "kept"]) == "hello\n"
        samples: dict[str, dict[str, list[float]]] = {row: {"cold": [], "warm": [], "server": []} for row in rows}
        floor: list[float] = []
        serial = 0
        for i in range(args.repeat):
            floor.append(timed([sys.executable, "-I", "-S", "-c", "import sqlite3"]))
            for row, words in rows.items():
                for way in (("cold", "warm") if i % 2 == 0 else ("warm", "cold")):
                    serial += 1
                    name = f"r{serial}"
                    if "{name}" in words:
                        quiet([*base, "create", "--network", "none", "--name", name, "busybox", "true"])
                    argv = [word.replace("{name}", name) for word in words]
                    samples[row][way].append(timed([MYDOCKER, *argv]) if way == "cold"
                                             else timed([*client, *argv], samples[row]["server"]))
        print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; medians of {args.repeat}, ms, interleaved")
        print(f"floor `python3 -I -S -c 'import sqlite3'`: {statistics.median(floor):.0f} ms")
        print("| command | cold (today) | warm server, whole | of which the server's fork + command | warm / cold |")
        print("|---|---:|---:|---:|---:|")
        for row, ways in samples.items():
            cold, warm, inside = (statistics.median(ways[k]) for k in ("cold", "warm", "server"))
            print(f"| {row} | {cold:.0f} | {warm:.0f} | {inside:.0f} | {warm / cold:.2f} |")
        print(json.dumps({row: ways for row, ways in samples.items()}), file=sys.stderr)
    finally:
        if server is not None:
            os.unlink(path)
            server.wait(10)
        subprocess.run([*base, "rm", "-f", *quiet([*base, "ps", "-aq"]).split()], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        from mydocker.core import roottags

        roottags.unregister(root)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
