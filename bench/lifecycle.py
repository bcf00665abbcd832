#!/usr/bin/env python3
"""Container lifecycle latency: mydocker beside docker, podman and runc.

Wall-clock time of whole CLI invocations, repeated (--repeat, default 15), reported
as median and p90 in milliseconds:

  run -d busybox true          detached start; returns once the container runs
  run --rm busybox true        foreground, until the container is gone
  stop -t 1 (sleep 3600)       sleep as PID 1 ignores SIGTERM: stop waits the timeout
  stop -t 1 (top)              top handles SIGTERM: stop returns when it exits
  rm                           of a stopped container
  rm -f                        of a running container (sleep 3600)
  ps -a                        with 100 stopped containers present
  images                       the floor: one CLI invocation that reads state

Each repetition runs every operation once per runtime, interleaved, in an order
rotated per repetition, so noise from a shared machine falls on all runtimes alike.
Set-up and tear-down (starting the container a `stop` acts on, removing it after)
are not timed.

Peers are used only when they are already installed and working: docker when its
daemon answers, podman and runc when a trial container runs. Nothing is installed
or started here. Their busybox image is made from the host's busybox-static
binary and imported under a tag of this run, removed at the end. Peers run with
their default network (docker and podman: a bridge) and again with
`--network none` in separate rows; mydocker's only network is none so far, and
runc's default spec gives an empty network namespace, which is what `none` means.

mydocker runs with a fresh temporary --root that is removed at the end; no other
root is touched. Every container made here is named PREFIX-N and removed in a
`finally`, in every runtime, even on failure or Ctrl-C.

    .venv/bin/python bench/lifecycle.py [--repeat N] [--runtimes mydocker,docker,...]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
SETTLE = 0.25  # seconds between a detached start and the stop that follows it (top installs its handler)
N_PS = 100


class BenchError(Exception):
    pass


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------- running commands

class Runner:
    """Runs commands with stdin/stdout on /dev/null and stderr to a scratch file
    (not a pipe: a detached container's monitor could hold a pipe open)."""

    def __init__(self, scratch: Path) -> None:
        self.err = open(scratch / "stderr", "w+b")  # noqa: SIM115 - closed in close()

    def close(self) -> None:
        self.err.close()

    def run(self, cmd: list[str], timeout: float = 120, check: bool = True) -> tuple[int, str]:
        self.err.seek(0)
        self.err.truncate()
        # Popen.wait(timeout) polls with sleeps of up to 50 ms, which would round every
        # time up to a multiple of them: wait blocking, and let a timer kill a hung command.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            code = proc.wait()
        except BaseException:  # interrupted: let the command finish before cleaning up after it
            try:
                proc.wait(timeout=30)
            except BaseException:
                proc.kill()
                proc.wait()
            raise
        finally:
            timer.cancel()
        self.err.seek(0)
        text = self.err.read().decode(errors="replace").strip()
        if check and code != 0:
            raise BenchError(f"{' '.join(cmd)}: exit {code}: {text[-400:]}")
        return code, text

    def timed(self, cmd: list[str], timeout: float = 120) -> float:
        start = time.perf_counter()
        self.run(cmd, timeout)
        return (time.perf_counter() - start) * 1000.0


def output(cmd: list[str], timeout: float = 60) -> str:
    """stdout of a quick, non-container command (versions, listings)."""
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return proc.stdout


# --------------------------------------------------------------------------- runtimes

class Runtime:
    name = ""
    column = ""
    version = ""
    networks = (None, "none")  # None: the runtime's default network
    image = "busybox"

    def run_d(self, name: str, argv: list[str], net: str | None) -> list[str]:
        raise NotImplementedError

    def run_rm(self, name: str, argv: list[str], net: str | None) -> list[str]:
        raise NotImplementedError

    def stop(self, name: str) -> list[str] | None:
        raise NotImplementedError

    def rm(self, names: list[str], force: bool = False) -> list[str]:
        raise NotImplementedError

    def ps(self) -> list[str]:
        raise NotImplementedError

    def images(self) -> list[str] | None:
        return None

    def wait_exited(self, runner: Runner, name: str) -> None:
        raise NotImplementedError

    def count(self) -> int:
        raise NotImplementedError

    def cleanup(self, runner: Runner, prefix: str) -> list[str]:
        """Remove everything of this run; return warnings."""
        raise NotImplementedError


class CliRuntime(Runtime):
    """docker-shaped command lines: mydocker, docker, podman."""

    def __init__(self, name: str, base: list[str], image: str, run_flags: list[str] | None = None,
                 rm_force_flags: list[str] | None = None) -> None:
        self.name = self.column = name
        self.base = base
        self.image = image
        self.run_flags = run_flags or []
        self.rm_force_flags = rm_force_flags or []

    def _run(self, name: str, argv: list[str], net: str | None, mode: str) -> list[str]:
        netflags = ["--network", net] if net else []
        return [*self.base, "run", mode, "--name", name, *netflags, *self.run_flags, self.image, *argv]

    def run_d(self, name, argv, net):
        return self._run(name, argv, net, "-d")

    def run_rm(self, name, argv, net):
        return self._run(name, argv, net, "--rm")

    def stop(self, name):
        return [*self.base, "stop", "-t", "1", name]

    def rm(self, names, force=False):
        return [*self.base, "rm", *(["-f", *self.rm_force_flags] if force else []), *names]

    def ps(self):
        return [*self.base, "ps", "-a"]

    def images(self):
        return [*self.base, "images"]

    def wait_exited(self, runner, name):
        runner.run([*self.base, "wait", name], timeout=60)

    def count(self):
        return len(output([*self.base, "ps", "-aq"]).split())

    def names(self, prefix: str) -> list[str]:
        out = output([*self.base, "ps", "-a", "--filter", f"name={prefix}", "--format", "{{.Names}}"])
        return [n.lstrip("/") for n in out.split() if n.lstrip("/").startswith(prefix)]

    def cleanup(self, runner, prefix):
        warnings = []
        try:
            names = self.names(prefix)
        except (BenchError, subprocess.TimeoutExpired) as exc:
            return [f"{self.name}: cannot list containers: {exc}"]
        for i in range(0, len(names), 50):
            code, err = runner.run(self.rm(names[i:i + 50], force=True), check=False)
            if code != 0:
                warnings.append(f"{self.name}: rm -f failed: {err[-300:]}")
        return warnings


# Tear down every network of a root, the default `bridge` too (no command removes
# that one, as none removes docker0): what the integration tests do, as a host
# shutdown would. Run with the Python of mydocker's own venv.
REMOVE_NETWORKS = """
import sys
from mydocker.statemachine import networks
from mydocker.statemachine.context import Context
ctx = Context(sys.argv[1], "bench teardown")
try:
    for view in networks.list_all(ctx.conn):
        networks.remove(ctx, view.id, allow_predefined=True)
finally:
    ctx.close()
"""


class MyDocker(CliRuntime):
    def __init__(self, binary: str, root: Path) -> None:
        super().__init__("mydocker", [binary, "--root", str(root)], "busybox")
        self.root = root
        self.binary = binary
        self.version = _git_version()
        self.default_network = "?"

    def detect_default_network(self, runner: Runner, name: str) -> None:
        """What `run` without --network gives (bridge since mydocker's networks, none before)."""
        try:
            runner.run(self.run_d(name, ["true"], None))
            self.default_network = output([*self.base, "inspect", "--format", "{{.HostConfig.NetworkMode}}",
                                           name]).strip() or "?"
            runner.run(self.rm([name], force=True), check=False)
        except (BenchError, subprocess.TimeoutExpired):
            pass
        self.version += f"; default network: {self.default_network}"
        bridge = os.environ.get("MYDOCKER_BRIDGE_NAME")
        if self.default_network == "bridge" and bridge:
            self.version += f" (this root's: {bridge}, {os.environ.get('MYDOCKER_BRIDGE_SUBNET')})"

    def names(self, prefix):
        # the whole root is ours: everything in it goes
        return output([*self.base, "ps", "-aq", "--no-trunc"]).split()

    def cleanup(self, runner, prefix):
        """mydocker's own commands take the root apart: rm -f every container, remove
        its networks, then `system prune` removes whatever the log says is left over
        and `system check` must then find nothing. What prune had to remove is a leak
        and is reported."""
        warnings = []
        if (self.root / "mydocker.db").exists():
            warnings += super().cleanup(runner, prefix)
            warnings += self._remove_networks(runner)
            for action in ("prune", "check"):
                proc = subprocess.run([*self.base, "system", action], stdin=subprocess.DEVNULL,
                                      capture_output=True, text=True, timeout=300)
                lines = [line for line in proc.stdout.splitlines()
                         if line.startswith(("removed:", "leaked:", "inconsistent:"))]
                warnings += [f"mydocker system {action}: {line}" for line in lines]
                if proc.returncode != 0 and not lines:
                    warnings.append(f"mydocker system {action} failed: {proc.stderr.strip()[-300:]}")
        if any(m.startswith(str(self.root)) for m in _mounts()):
            warnings.append(f"not removing {self.root}: something is still mounted under it")
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        return warnings

    def _remove_networks(self, runner: Runner) -> list[str]:
        python = Path(self.binary).resolve().parent / "python"
        code, err = runner.run([str(python if python.exists() else sys.executable), "-c", REMOVE_NETWORKS,
                                str(self.root)], check=False)
        return [] if code == 0 else [f"mydocker: removing the root's networks failed: {err[-300:]}"]


class Runc(Runtime):
    name = column = "runc"
    networks = ("none",)  # the default spec's empty network namespace

    def __init__(self, binary: str, workdir: Path, rootfs: Path) -> None:
        self.binary = binary
        self.state = workdir / "runc-state"
        self.bundles = workdir / "runc-bundles"
        self.rootfs = rootfs
        self.version = output([binary, "--version"]).splitlines()[0]
        self.base = [binary, "--root", str(self.state)]
        self._spec: dict | None = None

    def _bundle(self, argv: list[str]) -> str:
        key = "-".join(argv).replace("/", "_")
        bundle = self.bundles / key
        if not bundle.exists():
            if self._spec is None:
                tmp = self.bundles / ".spec"
                tmp.mkdir(parents=True, exist_ok=True)
                subprocess.run([self.binary, "spec"], cwd=tmp, check=True, capture_output=True)
                self._spec = json.loads((tmp / "config.json").read_text())
            spec = json.loads(json.dumps(self._spec))
            spec["root"]["path"] = str(self.rootfs)
            spec["process"]["terminal"] = False
            spec["process"]["args"] = argv
            spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
            bundle.mkdir(parents=True)
            (bundle / "config.json").write_text(json.dumps(spec, indent=1))
        return str(bundle)

    def run_d(self, name, argv, net):
        return [*self.base, "run", "-d", "--bundle", self._bundle(argv), name]

    def run_rm(self, name, argv, net):
        return [*self.base, "run", "--bundle", self._bundle(argv), name]

    def stop(self, name):
        return None  # runc has no stop

    def rm(self, names, force=False):
        return [*self.base, "delete", *(["-f"] if force else []), *names]

    def ps(self):
        return [*self.base, "list"]

    def status(self, name: str) -> str:
        return json.loads(output([*self.base, "state", name]))["status"]

    def wait_exited(self, runner, name):
        deadline = time.monotonic() + 60
        while self.status(name) != "stopped":
            if time.monotonic() > deadline:
                raise BenchError(f"runc: {name} did not stop")
            time.sleep(0.01)

    def count(self):
        return len(output([*self.base, "list", "-q"]).split())

    def cleanup(self, runner, prefix):
        warnings = []
        if self.state.exists():
            try:
                names = output([*self.base, "list", "-q"]).split()
            except BenchError as exc:
                return [f"runc: cannot list containers: {exc}"]
            for name in names:
                code, err = runner.run(self.rm([name], force=True), check=False)
                if code != 0:
                    warnings.append(f"runc: delete -f {name}: {err[-300:]}")
        return warnings


# --------------------------------------------------------------------------- host facts and the peers' image

def _mounts() -> list[str]:
    out = []
    with open("/proc/mounts") as f:
        for line in f:
            mountpoint = line.split()[1]
            out.append(mountpoint.encode().decode("unicode_escape"))  # \040 and friends
    return out


def _daemon_cmdlines(comm: str) -> list[str]:
    """How a running daemon was started (its flags change what is measured)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == comm:
                    raw = Path(f"/proc/{entry}/cmdline").read_bytes()
                    out.append(" ".join(a.decode(errors="replace") for a in raw.split(b"\0") if a))
            except OSError:
                continue
    return out


def _free_subnet() -> str:
    """A /24 in 10.200.0.0/13 that no host route touches, for mydocker's default
    bridge in our root (its stock 172.29.0.0/16 may belong to another root)."""
    import ipaddress
    import random

    routes = []
    with open("/proc/net/route") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            dest, mask = (ipaddress.IPv4Address(bytes.fromhex(x)[::-1]) for x in (fields[1], fields[7]))
            if int(mask):
                routes.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    for _ in range(1000):
        candidate = ipaddress.IPv4Network(f"10.{random.randint(200, 207)}.{random.randint(0, 255)}.0/24")
        if not any(candidate.overlaps(r) for r in routes):
            return str(candidate)
    raise BenchError("no free subnet for mydocker's bridge")


def _git_version() -> str:
    try:
        rev = output(["git", "-C", str(REPO), "describe", "--always", "--dirty"]).strip()
        return f"git {rev}"
    except (BenchError, OSError, subprocess.TimeoutExpired):
        return "unknown"


def is_static_elf(path: str) -> bool:
    """True when the ELF file has no PT_INTERP (no dynamic loader)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only; good enough here
            return False
        endian = "<" if head[5] == 1 else ">"
        phoff = struct.unpack_from(endian + "Q", head, 32)[0]
        phentsize, phnum = struct.unpack_from(endian + "HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(struct.unpack_from(endian + "I", table, i * phentsize)[0] != 3 for i in range(phnum))


def build_busybox_rootfs(workdir: Path) -> tuple[Path, Path]:
    """A busybox rootfs directory and a tarball of it, from the host's busybox-static."""
    binary = next((c for c in BUSYBOX_CANDIDATES if os.path.isfile(c)), None)
    if binary is None or not is_static_elf(binary):
        raise BenchError("a static busybox is needed for the peers (apt-get install busybox-static)")
    rootfs = workdir / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2(binary, rootfs / "bin/busybox")
    for applet in output([binary, "--list"]).split():
        if applet != "busybox":
            os.symlink("busybox", rootfs / "bin" / applet)
    for d in ("proc", "sys", "dev", "tmp", "etc"):
        (rootfs / d).mkdir()
    tarball = workdir / "busybox.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
    return rootfs, tarball


def detect_docker(binary: str | None, tarball: Path, runner: Runner, tag: str) -> tuple[CliRuntime | None, str]:
    if not binary:
        return None, "not installed"
    try:
        server = output([binary, "info", "--format", "{{.ServerVersion}}"], timeout=20).strip()
    except (BenchError, subprocess.TimeoutExpired):
        return None, "daemon not running"
    if not server:
        return None, "daemon not running"
    client = output([binary, "version", "--format", "{{.Client.Version}}"]).strip()
    code, err = runner.run([binary, "import", str(tarball), tag], check=False)
    if code != 0:
        return None, f"import failed: {err[-200:]}"
    rt = CliRuntime("docker", [binary], tag)
    rt.imported = [binary, "rmi", tag]  # type: ignore[attr-defined]
    code, err = runner.run(rt.run_rm("mdbench-trial-" + secrets.token_hex(4), ["true"], "none"), check=False)
    if code != 0:
        runner.run(rt.imported, check=False)  # type: ignore[attr-defined]
        return None, f"trial run failed: {err[-200:]}"
    rt.version = f"client {client} ({binary}), server {server}" + "".join(
        f"; daemon: `{cmd}`" for cmd in _daemon_cmdlines("dockerd"))
    return rt, ""


def detect_podman(binary: str | None, tarball: Path, runner: Runner, tag: str) -> tuple[CliRuntime | None, str]:
    """podman as it works here: first of its default runtime, then with ulimits its
    runtime may not raise without CAP_SYS_RESOURCE, then with runc (crun refuses
    hybrid cgroup hosts)."""
    if not binary:
        return None, "not installed"
    ulimits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
    candidates = [([binary], []), ([binary], ulimits)]
    if shutil.which("runc"):
        candidates.append(([binary, "--runtime", "runc"], ulimits))
    code, err = runner.run([binary, "import", "-q", str(tarball), tag], check=False)
    if code != 0:
        return None, f"import failed: {err[-200:]}"
    last = ""
    for base, flags in candidates:
        rt = CliRuntime("podman", base, tag, flags, rm_force_flags=["-t", "0"])
        rt.imported = [binary, "rmi", tag]  # type: ignore[attr-defined]
        code, err = runner.run(rt.run_rm("mdbench-trial-" + secrets.token_hex(4), ["true"], "none"), check=False)
        if code == 0:
            version = output([binary, "version", "--format", "{{.Client.Version}}"]).strip()
            oci = output([*base, "info", "--format", "{{.Host.OCIRuntime.Name}}"]).strip()
            rt.version = f"{version}, OCI runtime {oci}; flags: {' '.join(base[1:] + flags) or 'none'}"
            return rt, ""
        last = err
    runner.run([binary, "rmi", tag], check=False)
    return None, f"trial run failed: {last[-200:]}"


def detect_runc(binary: str | None, workdir: Path, rootfs: Path, runner: Runner) -> tuple[Runc | None, str]:
    if not binary:
        return None, "not installed"
    try:
        rt = Runc(binary, workdir, rootfs)
    except (BenchError, OSError) as exc:
        return None, str(exc)
    code, err = runner.run(rt.run_rm("mdbench-trial-" + secrets.token_hex(4), ["true"], "none"), check=False)
    if code != 0:
        return None, f"trial run failed: {err[-200:]}"
    return rt, ""


# --------------------------------------------------------------------------- operations

@dataclass
class Op:
    key: str
    label: str
    net: str | None
    # (runtime, runner, name) -> the command to time, or None when the runtime has no such command
    prepare: Callable[[Runtime, Runner, str], list[str] | None]
    after: Callable[[Runtime, Runner, str], None] | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)


def _started(rt: Runtime, runner: Runner, name: str, argv: list[str], net: str | None) -> None:
    runner.run(rt.run_d(name, argv, net))
    time.sleep(SETTLE)


def _quiet_rm(rt: Runtime, runner: Runner, name: str) -> None:
    runner.run(rt.rm([name], force=True), check=False)


def make_ops() -> list[Op]:
    ops: list[Op] = []
    for net in (None, "none"):
        flag = " --network none" if net else ""

        def run_d(rt, runner, name, net=net):
            return rt.run_d(name, ["true"], net)

        def after_run_d(rt, runner, name):
            rt.wait_exited(runner, name)
            _quiet_rm(rt, runner, name)

        ops.append(Op(f"run-d{flag}", f"`run -d{flag} busybox true`", net, run_d, after_run_d))
    for net in (None, "none"):
        flag = " --network none" if net else ""

        def run_rm(rt, runner, name, net=net):
            return rt.run_rm(name, ["true"], net)

        ops.append(Op(f"run-rm{flag}", f"`run --rm{flag} busybox true`", net, run_rm))
    for argv, why in ((["sleep", "3600"], "ignores SIGTERM"), (["top"], "handles SIGTERM")):
        for net in (None, "none"):
            flag = " --network none" if net else ""

            def stop(rt, runner, name, net=net, argv=argv):
                if rt.stop(name) is None:
                    return None
                _started(rt, runner, name, argv, net)
                return rt.stop(name)

            def after_stop(rt, runner, name):
                runner.run(rt.rm([name]), check=False)

            ops.append(Op(f"stop-{argv[0]}{flag}",
                          f"`stop -t 1` of `{' '.join(argv)}`{flag} ({why})", net, stop, after_stop))

    def rm(rt, runner, name):
        runner.run(rt.run_d(name, ["true"], None))
        rt.wait_exited(runner, name)
        return rt.rm([name])

    ops.append(Op("rm", "`rm` of a stopped container", None, rm))
    for net in (None, "none"):
        flag = " --network none" if net else ""

        def rm_f(rt, runner, name, net=net):
            _started(rt, runner, name, ["sleep", "3600"], net)
            return rt.rm([name], force=True)

        ops.append(Op(f"rm-f{flag}", f"`rm -f` of a running `sleep 3600`{flag}", net, rm_f))
    ops.append(Op("images", "`images` (CLI floor)", None, lambda rt, runner, name: rt.images()))
    return ops


# --------------------------------------------------------------------------- the benchmark

class Bench:
    def __init__(self, runtimes: list[Runtime], runner: Runner, prefix: str, repeat: int) -> None:
        self.runtimes = runtimes
        self.runner = runner
        self.prefix = prefix
        self.repeat = repeat
        self.counter = 0

    def name(self) -> str:
        self.counter += 1
        return f"{self.prefix}-{self.counter}"

    def rotated(self, i: int) -> list[Runtime]:
        k = i % len(self.runtimes)
        return self.runtimes[k:] + self.runtimes[:k]

    def applies(self, op: Op, rt: Runtime) -> bool:
        return op.net in rt.networks

    def measure(self, op: Op, rt: Runtime) -> None:
        name = self.name()
        try:
            cmd = op.prepare(rt, self.runner, name)
            if cmd is None:
                return
            ms = self.runner.timed(cmd)
            op.samples.setdefault(rt.name, []).append(ms)
            if op.after:
                op.after(rt, self.runner, name)
        except (BenchError, subprocess.TimeoutExpired) as exc:
            failures = op.failures.setdefault(rt.name, [])
            if not failures:
                log(f"  {rt.name} {op.key}: {exc}")
            failures.append(str(exc))
            _quiet_rm(rt, self.runner, name)

    def warm_up(self) -> None:
        log("warming up (builds mydocker's busybox image; not timed)")
        for rt in self.runtimes:
            for net in rt.networks:
                name = self.name()
                self.runner.run(rt.run_rm(name, ["true"], net))

    def lifecycle(self, ops: list[Op]) -> None:
        for i in range(self.repeat):
            t0 = time.monotonic()
            for op in ops:
                for rt in self.rotated(i):
                    if self.applies(op, rt):
                        self.measure(op, rt)
            log(f"repetition {i + 1}/{self.repeat}: {time.monotonic() - t0:.1f} s")

    def ps(self, op: Op) -> dict[str, int]:
        log(f"making {N_PS} stopped containers in each runtime for `ps -a`")
        names: dict[str, list[str]] = {rt.name: [] for rt in self.runtimes}
        counts: dict[str, int] = {}
        try:
            for _ in range(N_PS):
                for rt in self.runtimes:
                    name = self.name()
                    self.runner.run(rt.run_d(name, ["true"], None if None in rt.networks else "none"))
                    names[rt.name].append(name)
            for rt in self.runtimes:
                for name in names[rt.name]:
                    rt.wait_exited(self.runner, name)
                counts[rt.name] = rt.count()
            for i in range(self.repeat):
                for rt in self.rotated(i):
                    try:
                        op.samples.setdefault(rt.name, []).append(self.runner.timed(rt.ps()))
                    except BenchError as exc:
                        op.failures.setdefault(rt.name, []).append(str(exc))
        finally:
            for rt in self.runtimes:
                batch = names[rt.name]
                for j in range(0, len(batch), 50):
                    self.runner.run(rt.rm(batch[j:j + 50], force=True), check=False)
        return counts


# --------------------------------------------------------------------------- report

def p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def cell(op: Op, column: str, present: set[str], unavailable: dict[str, str]) -> str:
    if column in unavailable:
        return "n/a"
    if column not in present:
        return "—"
    samples = op.samples.get(column, [])
    failures = op.failures.get(column, [])
    if not samples:
        return "fail" if failures else "—"
    text = f"{statistics.median(samples):.0f} ({p90(samples):.0f})"
    if failures:
        text += f" [{len(failures)} failed]"
    return text


def table(ops: list[Op], columns: list[str], present: set[str], unavailable: dict[str, str]) -> str:
    lines = ["| operation (ms: median (p90)) | " + " | ".join(columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for op in ops:
        lines.append(f"| {op.label} | " + " | ".join(cell(op, c, present, unavailable) for c in columns) + " |")
    return "\n".join(lines)


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> dict[str, str]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": str(os.cpu_count()), "kernel": platform.release(), "cpu": model, "load": _loadavg(),
            "python": platform.python_version()}


def report(ops: list[Op], runtimes: list[Runtime], unavailable: dict[str, str], args: argparse.Namespace,
           started: datetime.datetime, host: dict[str, str], counts: dict[str, int], elapsed: float) -> str:
    columns = ["mydocker", "docker", "podman", "runc"]
    present = {rt.name for rt in runtimes}
    argv = " ".join(sys.argv[1:])
    mydocker_net = next((getattr(rt, "default_network", "?") for rt in runtimes if rt.name == "mydocker"), "?")
    out = [
        "# mydocker lifecycle benchmark",
        "",
        f"Date: {started:%Y-%m-%d %H:%M} UTC. Machine: {host['nproc']} CPUs ({host['cpu']}), "
        f"kernel {host['kernel']}, Python {host['python']}; load average at start {host['load']}. "
        f"{args.repeat} repetitions, interleaved across runtimes; {elapsed / 60:.1f} minutes in all.",
        "",
        "Reproduce: `make bench`, i.e. `.venv/bin/python bench/lifecycle.py"
        + (f" {argv}`" if argv else "`") + " (peers are used only when already installed and running).",
        "",
        "Wall clock of one CLI invocation, median and (p90), in milliseconds.",
        "",
        table(ops, columns, present, unavailable),
        "",
        "Runtimes:",
        "",
    ]
    for rt in runtimes:
        out.append(f"- {rt.name}: {rt.version}")
    for name, why in unavailable.items():
        out.append(f"- {name}: n/a ({why})")
    out += [
        "",
        "Notes:",
        "",
        "- Rows without `--network none` use each runtime's default network: docker's and podman's"
        f" bridge, and mydocker's default ({mydocker_net}). runc (an empty network namespace,"
        " i.e. none) appears only in the `--network none` rows and has no `stop` command.",
        "- `stop -t 1` of `sleep 3600`: sleep as PID 1 has no SIGTERM handler, so every runtime waits"
        " the 1 s timeout and then kills it; `top` exits on SIGTERM.",
        "- podman's `rm -f` is timed as `rm -f -t 0`: plain `podman rm -f` first waits the 10 s stop"
        " timeout with SIGTERM, where docker's (and mydocker's) `rm -f` sends SIGKILL at once.",
        f"- `ps -a`: {N_PS} stopped containers made with `run -d ... true` in each runtime; containers"
        " listed: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ". runc's row is `runc list`.",
        "- `images`: the cheapest command that reads state, as a floor for one CLI invocation"
        " (docker and podman images are the one imported busybox plus whatever else is there).",
        f"- The machine is shared: expect noise; p90 shows how much. Load average at the end: {_loadavg()}.",
    ]
    failed = [(op, name, errors) for op in ops for name, errors in op.failures.items()]
    if failed:
        out += ["", "Failures (`[N failed]` above; the first error of each):", ""]
        for op, name, errors in failed:
            out.append(f"- {name}, {op.label}: {len(errors)} of {len(errors) + len(op.samples.get(name, []))}:"
                       f" `{errors[0].replace('`', chr(39))[-300:]}`")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=15, help="repetitions of each measurement (default 15)")
    p.add_argument("--runtimes", default="mydocker,docker,podman,runc",
                   help="comma-separated subset of mydocker,docker,podman,runc (peers only if working)")
    p.add_argument("--only", default="", help="comma-separated operation keys to run (default all; see --list)")
    p.add_argument("--list", action="store_true", help="list operation keys and exit")
    p.add_argument("--mydocker", help="the mydocker CLI (default: the one beside this Python, else on PATH)")
    p.add_argument("--docker", default=shutil.which("docker"), help="docker CLI (default: on PATH)")
    p.add_argument("--output", default=str(HERE / "RESULTS.md"), help="where to write the report")
    p.add_argument("--no-write", action="store_true", help="print the table only; don't write the report")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def find_mydocker(explicit: str | None) -> str:
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "mydocker"
    if beside.exists():
        return str(beside)
    found = shutil.which("mydocker")
    if not found:
        raise BenchError("mydocker CLI not found (make install, or pass --mydocker)")
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ops = make_ops()
    ps_op = Op("ps", f"`ps -a` with {N_PS} containers", None, lambda rt, runner, name: rt.ps())
    if args.list:
        print("\n".join(op.key for op in [*ops, ps_op]))
        return 0
    if args.only:
        keys = {k.strip() for k in args.only.split(",")}
        unknown = keys - {op.key for op in [*ops, ps_op]}
        if unknown:
            sys.stderr.write(f"unknown operation(s): {', '.join(sorted(unknown))} (see --list)\n")
            return 2
        ops = [op for op in ops if op.key in keys]
        ps_op_wanted = "ps" in keys
    else:
        ps_op_wanted = True
    if os.geteuid() != 0:
        sys.stderr.write("the benchmark runs containers: run it as root\n")
        return 2
    wanted = [w.strip() for w in args.runtimes.split(",") if w.strip()]

    # SIGTERM and SIGHUP clean up like Ctrl-C does
    def _interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)

    started = datetime.datetime.now(datetime.UTC)
    host = machine()
    t_start = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="mydocker-bench-"))
    runner = Runner(workdir)
    prefix = f"mdbench-{os.getpid()}-{secrets.token_hex(2)}"
    tag = f"mydocker-bench-busybox:{os.getpid()}-{secrets.token_hex(2)}"
    runtimes: list[Runtime] = []
    unavailable: dict[str, str] = {}
    warnings: list[str] = []
    interrupted = False
    try:
        if "mydocker" in wanted:
            root = workdir / "root"
            root.mkdir(mode=0o700)
            # this root's default network gets a bridge and subnet of its own (peers ignore these)
            os.environ["MYDOCKER_BRIDGE_NAME"] = f"mdbr-b{secrets.token_hex(3)}"
            os.environ["MYDOCKER_BRIDGE_SUBNET"] = _free_subnet()
            runtimes.append(MyDocker(find_mydocker(args.mydocker), root))
        peers = [w for w in wanted if w != "mydocker"]
        if peers:
            try:
                rootfs, tarball = build_busybox_rootfs(workdir)
            except (BenchError, OSError, subprocess.CalledProcessError) as exc:
                rootfs = tarball = None
                for peer in peers:
                    unavailable[peer] = str(exc)
            if tarball is not None:
                detectors = {
                    "docker": lambda: detect_docker(args.docker, tarball, runner, tag),
                    "podman": lambda: detect_podman(shutil.which("podman"), tarball, runner, "localhost/" + tag),
                    "runc": lambda: detect_runc(shutil.which("runc"), workdir, rootfs, runner),
                }
                for peer in peers:
                    if peer not in detectors:
                        unavailable[peer] = "unknown runtime"
                        continue
                    rt, why = detectors[peer]()
                    if rt is None:
                        unavailable[peer] = why
                        log(f"{peer}: n/a ({why})")
                    else:
                        runtimes.append(rt)
                        log(f"{peer}: {rt.version}")
        if not runtimes:
            raise BenchError("no runtime to measure")
        bench = Bench(runtimes, runner, prefix, args.repeat)
        bench.warm_up()
        for rt in runtimes:
            if isinstance(rt, MyDocker):
                rt.detect_default_network(runner, bench.name())
        bench.lifecycle(ops)
        counts = bench.ps(ps_op) if ps_op_wanted else {}
        if ps_op_wanted:
            ops.append(ps_op)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted; cleaning up")
    finally:
        for rt in runtimes:
            try:
                warnings += rt.cleanup(runner, prefix)
            except Exception as exc:  # noqa: BLE001 - keep cleaning the others
                warnings.append(f"{rt.name}: cleanup failed: {exc}")
            imported = getattr(rt, "imported", None)
            if imported:
                code, err = runner.run(imported, check=False)
                if code != 0:
                    warnings.append(f"{rt.name}: {' '.join(imported)}: {err[-200:]}")
        runner.close()
        if any(m.startswith(str(workdir) + "/") for m in _mounts()):
            warnings.append(f"not removing {workdir}: something is still mounted under it")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        for w in warnings:
            log(f"warning: {w}")
    if interrupted:
        return 130
    md = report(ops, runtimes, unavailable, args, started, host, counts, time.monotonic() - t_start)
    print(table(ops, ["mydocker", "docker", "podman", "runc"], {rt.name for rt in runtimes}, unavailable))
    if not args.no_write:
        Path(args.output).write_text(md)
        log(f"wrote {args.output}")
    return 1 if warnings else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(1)
