"""Integration fixtures: a private --root per test and a leak check after it.

After every test the fixture looks for anything of that test's containers left
on the host — state directories, cgroups, live container or monitor processes,
mounts — fails the test if it finds any, and then removes it so one leak does
not cascade into the next test.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

MYDOCKER = str(Path(sys.executable).parent / "mydocker")
# The tests' own connections wait for a writer as long as the product's do
# (store/db.py's busy timeout), not sqlite3's default 5 s.
DB_TIMEOUT = 30.0

pytestmark = pytest.mark.integration

if os.geteuid() != 0:
    pytest.skip("integration tests need root", allow_module_level=True)

# A suite started in the background by a shell without job control (`make test &`,
# CI runners, nohup) inherits SIGINT ignored, and an ignored signal stays ignored
# across exec: the commands a test interrupts (stats, logs -f, events) would never
# see the ^C the test sends. A handled signal is reset to the default by exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass
class Result:
    code: int
    out: str
    err: str


_handed_out: set[str] = set()


def free_host_port() -> int:
    """A host TCP port nothing listens on now, for -p HOST:CONTAINER."""
    import socket

    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def free_subnet() -> str:
    """A /24 in 10.213.0.0/16-10.219.0.0/16 that no host route touches and that this
    session has not used: tests never clash with the host or each other, and
    `network create` refuses an overlap if another session raced us to it."""
    from mydocker.core.network import host_routes

    routes = [ipaddress.ip_network(dst) for dst, _ in host_routes()]
    for _ in range(1000):
        candidate = ipaddress.ip_network(f"10.{random.randint(213, 219)}.{random.randint(0, 255)}.0/24")
        if str(candidate) not in _handed_out and not any(candidate.overlaps(r) for r in routes):
            _handed_out.add(str(candidate))
            return str(candidate)
    raise RuntimeError("no free test subnet")


class Runtime:
    def __init__(self, root: Path) -> None:
        from mydocker.core import roottags

        self.root = root
        self.tag = roottags.tag_of(root)
        # The default network names its own bridge after the root's tag; the subnet
        # override keeps the suite's default networks in free_subnet()'s range.
        self.default_subnet = free_subnet()
        self.env = {"MYDOCKER_BRIDGE_SUBNET": self.default_subnet}

    @property
    def bridge(self) -> str | None:
        """The default network's bridge, as the log recorded it."""
        if not (self.root / "mydocker.db").exists():
            return None
        with self.db() as conn:
            row = conn.execute("SELECT bridge FROM networks WHERE name = 'bridge'").fetchone()
        return row[0] if row else None

    def __call__(self, *args: str, input: str | None = None, timeout: float = 60, env: dict | None = None) -> Result:
        proc = subprocess.run(
            [MYDOCKER, "--root", str(self.root), *args],
            input=input, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, **self.env, **(env or {})}, stdin=None if input is not None else subprocess.DEVNULL,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kwargs) -> str:
        result = self(*args, **kwargs)
        assert result.code == 0, f"mydocker {' '.join(args)} -> {result.code}: {result.err}"
        return result.out

    def inspect(self, ref: str) -> dict:
        return json.loads(self.ok("inspect", ref))[0]

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "mydocker.db", timeout=DB_TIMEOUT)

    def events(self, container_id: str) -> list[str]:
        with self.db() as conn:
            return [r[0] for r in conn.execute(
                "SELECT type FROM events WHERE stream_id = ? ORDER BY version", (container_id,))]


CONTAINER_CREATES = "SELECT payload FROM events WHERE type = 'create' AND stream_type = 'container'"


def _alive(pid: int | None, start: int | None) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return False
    fields = raw[raw.rindex(b")") + 2:].split()
    return fields[0] != b"Z" and int(fields[19]) == start


CONTAINER_CREATES = "SELECT payload FROM events WHERE type = 'create' AND stream_type = 'container'"


# a restart policy's sleeper, which the die that scheduled it names
RESTART_SLEEPERS = ("SELECT json_extract(payload, '$.restart') FROM events"
                    " WHERE type = 'die' AND json_extract(payload, '$.restart') IS NOT NULL")


def find_leaks(root: Path) -> list[str]:
    leaks: list[str] = []
    db = root / "mydocker.db"
    if not db.exists():
        return leaks
    conn = sqlite3.connect(db, timeout=DB_TIMEOUT)
    try:
        for (name,) in conn.execute("SELECT name FROM containers"):
            leaks.append(f"container not removed: {name}")
        for (payload,) in conn.execute(CONTAINER_CREATES):
            cgroups = json.loads(payload)["config"]["spec"]["cgroups"]
            leaks += [f"cgroup: {d}" for d in cgroups.values() if os.path.isdir(d)]
        monitors = []
        for (payload,) in conn.execute("SELECT payload FROM events WHERE type = 'start'"):
            p = json.loads(payload)
            if _alive(p["pid"], p["pid_start"]):
                leaks.append(f"container process: {p['pid']}")
            monitors.append((p["monitor_pid"], p["monitor_start"]))
        # A monitor that has just recorded `destroy` (--rm) is still on its way out:
        # give it a few seconds; one that stays is a leak.
        deadline = time.monotonic() + 10
        while any(_alive(*m) for m in monitors) and time.monotonic() < deadline:
            time.sleep(0.1)
        leaks += [f"monitor process: {pid}" for pid, start in monitors if _alive(pid, start)]
        for (payload,) in conn.execute(RESTART_SLEEPERS):
            r = json.loads(payload)
            if _alive(r["monitor_pid"], r["monitor_start"]):
                leaks.append(f"restart sleeper: {r['monitor_pid']}")
    finally:
        conn.close()
    containers = root / "containers"
    if containers.is_dir():
        leaks += [f"state directory: {d}" for d in containers.iterdir()]
    # The root and every host path a test uses live under the test's tmp dir
    # (root.parent): a bind mount of a volume must never show on the host.
    with open("/proc/mounts") as f:
        leaks += [f"mount: {line.split()[1]}" for line in f if str(root.parent) in line]
    return leaks


def force_clean(root: Path) -> None:
    """Best effort, after a leak was reported: kill, unmount, remove."""
    db = root / "mydocker.db"
    if db.exists():
        conn = sqlite3.connect(db, timeout=DB_TIMEOUT)
        for (payload,) in conn.execute("SELECT payload FROM events WHERE type = 'start'"):
            p = json.loads(payload)
            for pid, start in ((p["pid"], p["pid_start"]), (p["monitor_pid"], p["monitor_start"])):
                if _alive(pid, start):
                    os.kill(pid, signal.SIGKILL)
        for (payload,) in conn.execute(RESTART_SLEEPERS):
            r = json.loads(payload)
            if _alive(r["monitor_pid"], r["monitor_start"]):
                os.kill(r["monitor_pid"], signal.SIGKILL)
        time.sleep(0.2)
        for (payload,) in conn.execute(CONTAINER_CREATES):
            for d in json.loads(payload)["config"]["spec"]["cgroups"].values():
                for _ in range(50):
                    try:
                        os.rmdir(d)
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        for pid in Path(d, "cgroup.procs").read_text().split():
                            try:
                                os.kill(int(pid), signal.SIGKILL)
                            except ProcessLookupError:
                                pass
                        time.sleep(0.05)
        conn.close()
    with open("/proc/mounts") as f:
        for line in reversed(f.readlines()):
            if str(root.parent) in line:
                subprocess.run(["umount", "-l", line.split()[1]], check=False)


# --- networks ----------------------------------------------------------------------


@dataclass
class NetworkObjects:
    """What of ours a root may have made: ids from its log (destroyed ones too), and
    the tag its host objects carry. A host object is this root's only if it carries
    the tag *and* one of these ids, so a test never touches another root's."""

    tag: str
    networks: set[str]  # short (12) ids of every network the log ever created
    veths: set[str]

    @classmethod
    def of(cls, root: Path) -> "NetworkObjects":
        from mydocker.core import roottags

        objects = cls(roottags.tag_of(root), set(), set())
        db = root / "mydocker.db"
        if not db.exists():
            return objects
        conn = sqlite3.connect(db, timeout=DB_TIMEOUT)
        try:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'networks'").fetchone():
                return objects
            for sid, etype, payload in conn.execute(
                    "SELECT stream_id, type, payload FROM events WHERE stream_type = 'network'"):
                if etype == "create":
                    objects.networks.add(sid[:12])
                elif etype == "allocate":
                    objects.veths.add(json.loads(payload)["endpoint"]["veth"])
        finally:
            conn.close()
        return objects

    def links(self) -> list[tuple[str, str]]:
        """(name, alias) of the links on the host that are this root's."""
        from mydocker.core import network

        found = []
        for name, alias in network.our_links():
            owner = network.parse_alias(alias)
            if owner is not None and owner[0] == self.tag and owner[1][:12] in self.networks:
                found.append((name, alias))
            elif name in self.veths and not alias:  # made, crashed before its tag was set
                found.append((name, alias))
        return found

    def rules(self) -> list[str]:
        from mydocker.core import iptables

        return [line for line in iptables.list_rules()
                if (owner := iptables.owner_of(line)) and owner[0] == self.tag and owner[1] in self.networks]


def find_network_leaks(root: Path, objects: NetworkObjects) -> list[str]:
    leaks: list[str] = []
    db = root / "mydocker.db"
    if db.exists():
        conn = sqlite3.connect(db, timeout=DB_TIMEOUT)
        try:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'networks'").fetchone():
                leaks += [f"network not removed: {n}" for (n,) in conn.execute("SELECT name FROM networks")]
        finally:
            conn.close()
    leaks += [f"link: {name} ({alias})" for name, alias in objects.links()]
    leaks += [f"iptables: {rule}" for rule in objects.rules()]
    return leaks


def force_clean_network(objects: NetworkObjects) -> None:
    from mydocker.core import iptables, network

    for name, alias in objects.links():
        network.detach(name, alias)  # deletes only a link that still carries exactly that tag
    iptables.remove([iptables.parse_listed(line) for line in objects.rules()])


def remove_default_network(runtime: Runtime) -> list[str]:
    """`bridge` is a pre-defined network that no command removes (docker0's way);
    a test's root takes its own away, as a host shutdown would."""
    from mydocker.statemachine import networks
    from mydocker.statemachine.context import Context
    from mydocker.statemachine.errors import UserError

    if not (runtime.root / "mydocker.db").exists():
        return []
    ctx = Context(str(runtime.root), "test teardown")
    try:
        if networks.find(ctx.conn, networks.DEFAULT_NETWORK) is not None:
            networks.remove(ctx, networks.DEFAULT_NETWORK, allow_predefined=True)
    except UserError as exc:
        return [f"default network: {exc}"]
    finally:
        ctx.close()
    return []


def read_to_hangup(fd: int) -> bytes:
    """What a pty still holds, read until its other end is gone (or 5 s of silence)."""
    import select

    out = b""
    while select.select([fd], [], [], 5)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the last holder of the pty's other end is gone
            break
        if not chunk:
            break
        out += chunk
    return out


def _checked_runtime(base: Path):
    """A Runtime on base/root; afterwards, fail on (and remove) what it left behind."""
    root = base / "root"
    runtime = Runtime(root)
    yield runtime
    leaks = find_leaks(root)
    force_clean(root)
    if not leaks:
        leaks += remove_default_network(runtime)
    objects = NetworkObjects.of(root)
    leaks += find_network_leaks(root, objects)
    force_clean_network(objects)
    shutil.rmtree(base, ignore_errors=True)
    if not leaks:
        from mydocker.core import roottags

        roottags.unregister(root)  # nothing of it is left for `system prune --orphans` to find
    assert not leaks, "the test left host objects behind:\n" + "\n".join(leaks)


@pytest.fixture
def md(tmp_path: Path):
    yield from _checked_runtime(tmp_path)


@pytest.fixture
def md2(tmp_path_factory: pytest.TempPathFactory):
    """A second state root on the same host, checked the same way."""
    yield from _checked_runtime(tmp_path_factory.mktemp("second"))


class PtySession:
    """mydocker on a pseudo-terminal, as a person at a shell would drive it."""

    def __init__(self, root: Path, *args: str) -> None:
        import pty

        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(MYDOCKER, [MYDOCKER, "--root", str(root), *args])
        self.output = b""

    def read_until(self, needle: bytes, timeout: float = 20) -> None:
        import select

        deadline = time.monotonic() + timeout
        while needle not in self.output and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.output += os.read(self.fd, 4096)
                except OSError:
                    break
        assert needle in self.output, self.output

    def type(self, line: bytes) -> None:
        os.write(self.fd, line + b"\r")

    def exit_code(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        # what it wrote just before it ended may still sit in the pty: read up to the hang-up
        self.output += read_to_hangup(self.fd)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)
