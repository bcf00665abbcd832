#!/usr/bin/env python3
"""Issue 16's table: every lifecycle command of mydocker beside docker 20.10, podman
and runc, and the memory each runtime's per-container monitor holds.

One run times, interleaved (the runtimes' order rotated per repetition) and reported
as medians, whole CLI invocations:

  run --rm --network none busybox true        target <= 0.5 x the best of docker, podman
  run -d busybox true (default bridge)        target <= 0.5 x
  ps -a (100 containers), images, inspect, logs, rm of a stopped container,
  rm -f of a running one, stop -t 1 of top, kill      target <= 1.0 x

runc is the floor, not a peer: it has no images, logs or bridge. Every row prints
mydocker / best peer and which peer was best. The monitor rows read VmRSS and
Pss_Anon (/proc/PID/smaps_rollup) of the parent of each container's PID 1 (mydocker's
monitor, containerd-shim, conmon) for a running `sleep 3600` with and without a bridge.

The runtimes, their busybox image and the teardown are bench/lifecycle.py's: peers
are used only when already installed and working, mydocker runs in a temporary
--root, and everything made here is removed at the end. The machine is shared (other
people's tests run on its 2 cores): medians of interleaved runs, not single figures.

    .venv/bin/python bench/latency.py [--repeat N] [--runtimes mydocker,docker,podman,runc] [--eventlog]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lifecycle as lc  # noqa: E402 - the runtimes, image and teardown are shared with it

HERE = Path(__file__).resolve().parent
N_PS = 100
PEERS = ("docker", "podman")
BASELINE = "mydocker-baseline"
SETTLE = 0.3  # seconds after a detached start before acting on it (top installs its handler)


@dataclass
class Row:
    key: str
    label: str
    target: float  # mydocker / best peer must be at most this
    # (runtime, name) -> the command to time, or None when the runtime has no such command
    prepare: Callable[[lc.Runtime, str], list[str] | None]
    after: Callable[[lc.Runtime, str], None] | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)


def default_net(rt: lc.Runtime) -> str | None:
    """The runtime's default network, or none where it has no bridge (runc)."""
    return None if None in rt.networks else "none"


def command(rt: lc.Runtime, verb: str, name: str) -> list[str] | None:
    """inspect / logs / kill, for the runtimes that have them."""
    if isinstance(rt, lc.Runc):
        return {"inspect": [*rt.base, "state", name], "kill": [*rt.base, "kill", name, "KILL"]}.get(verb)
    return [*rt.base, verb, name]  # type: ignore[attr-defined]


class Latency:
    def __init__(self, runtimes: list[lc.Runtime], runner: lc.Runner, prefix: str, repeat: int) -> None:
        self.runtimes = runtimes
        self.runner = runner
        self.prefix = prefix
        self.repeat = repeat
        self.counter = 0
        self.kept: dict[str, str] = {}  # runtime -> a stopped container that printed a line

    def name(self) -> str:
        self.counter += 1
        return f"{self.prefix}-{self.counter}"

    def started(self, rt: lc.Runtime, name: str, argv: list[str], net: str | None) -> None:
        self.runner.run(rt.run_d(name, argv, net))
        time.sleep(SETTLE)

    def stopped(self, rt: lc.Runtime, name: str) -> None:
        self.runner.run(rt.run_d(name, ["true"], default_net(rt)))
        rt.wait_exited(self.runner, name)

    def quiet_rm(self, rt: lc.Runtime, name: str) -> None:
        self.runner.run(rt.rm([name], force=True), check=False)

    def rows(self) -> list[Row]:
        def run_rm(rt, name):
            return rt.run_rm(name, ["true"], "none")

        def run_d(rt, name):
            return rt.run_d(name, ["true"], None) if None in rt.networks else None

        def after_run_d(rt, name):
            rt.wait_exited(self.runner, name)
            self.quiet_rm(rt, name)

        def rm(rt, name):
            self.stopped(rt, name)
            return rt.rm([name])

        def rm_f(rt, name, net=None):
            if net not in rt.networks:
                return None
            self.started(rt, name, ["sleep", "3600"], net)
            return rt.rm([name], force=True)

        def stop(rt, name):
            if rt.stop(name) is None:
                return None
            self.started(rt, name, ["top"], default_net(rt))
            return rt.stop(name)

        def kill(rt, name):
            self.started(rt, name, ["sleep", "3600"], default_net(rt))
            return command(rt, "kill", name)

        def remove_after(rt, name):
            if isinstance(rt, lc.Runc):
                rt.wait_exited(self.runner, name)
            self.quiet_rm(rt, name)

        return [
            Row("run-rm-none", "`run --rm --network none busybox true`", 0.5, run_rm),
            Row("run-d", "`run -d busybox true` (default bridge)", 0.5, run_d, after_run_d),
            Row("ps", f"`ps -a` ({N_PS} containers)", 1.0, lambda rt, name: rt.ps()),
            Row("images", "`images`", 1.0, lambda rt, name: rt.images()),
            Row("inspect", "`inspect` of a stopped container", 1.0,
                lambda rt, name: command(rt, "inspect", self.kept[rt.name])),
            Row("logs", "`logs` of a stopped container", 1.0,
                lambda rt, name: command(rt, "logs", self.kept[rt.name])),
            Row("rm", "`rm` of a stopped container", 1.0, rm),
            Row("rm-f", "`rm -f` of a running `sleep 3600` (default bridge)", 1.0, rm_f),
            Row("rm-f-none", "`rm -f` of a running `sleep 3600` --network none", 1.0,
                lambda rt, name: rm_f(rt, name, "none")),
            Row("stop", "`stop -t 1` of `top` (default bridge)", 1.0, stop, remove_after),
            Row("kill", "`kill` of a running `sleep 3600` (default bridge)", 1.0, kill, remove_after),
        ]

    def measure(self, row: Row, rt: lc.Runtime) -> None:
        name = self.name()
        try:
            cmd = row.prepare(rt, name)
            if cmd is None:
                return
            row.samples.setdefault(rt.name, []).append(self.runner.timed(cmd))
            if row.after:
                row.after(rt, name)
        except (lc.BenchError, subprocess.TimeoutExpired) as exc:
            failures = row.failures.setdefault(rt.name, [])
            if not failures:
                lc.log(f"  {rt.name} {row.key}: {exc}")
            failures.append(str(exc))
            self.quiet_rm(rt, name)

    def populate(self) -> dict[str, int]:
        """N_PS stopped containers in each runtime (for `ps -a`; every row runs beside
        them), and one that printed a line, for inspect and logs."""
        lc.log(f"making {N_PS} stopped containers in each runtime (not timed)")
        for rt in self.runtimes:
            kept = self.name()
            self.runner.run(rt.run_d(kept, ["echo", "hello"], default_net(rt)))
            rt.wait_exited(self.runner, kept)
            self.kept[rt.name] = kept
        for _ in range(N_PS - 1):
            for rt in self.runtimes:
                self.runner.run(rt.run_d(self.name(), ["true"], default_net(rt)))
        time.sleep(1)
        return {rt.name: rt.count() for rt in self.runtimes}

    def timings(self, rows: list[Row]) -> None:
        for i in range(self.repeat):
            t0 = time.monotonic()
            k = i % len(self.runtimes)
            order = self.runtimes[k:] + self.runtimes[:k]
            for row in rows:
                for rt in order:
                    self.measure(row, rt)
            lc.log(f"repetition {i + 1}/{self.repeat}: {time.monotonic() - t0:.1f} s")

    def monitors(self) -> list[tuple[str, dict[str, tuple[float, float, str]]]]:
        """(label, runtime -> (RSS MB, Pss_Anon MB, process name)) of the process that
        watches a running container: the parent of its PID 1."""
        out = []
        for net, label in (("none", "--network none"), (None, "default bridge")):
            figures: dict[str, tuple[float, float, str]] = {}
            for rt in self.runtimes:
                if isinstance(rt, lc.Runc) or net not in rt.networks:
                    continue  # runc run -d leaves no monitor
                name = self.name()
                try:
                    self.started(rt, name, ["sleep", "3600"], net)
                    time.sleep(1)  # let a monitor that re-executes itself settle
                    pid = int(lc.output([*rt.base, "inspect", "--format", "{{.State.Pid}}", name]).strip())
                    figures[rt.name] = memory(parent(pid))
                except (lc.BenchError, subprocess.TimeoutExpired, OSError, ValueError) as exc:
                    lc.log(f"  {rt.name} monitor ({label}): {exc}")
                finally:
                    self.quiet_rm(rt, name)
            out.append((label, figures))
        return out


def baseline_runtime(binary: str, workdir: Path, label: str) -> lc.MyDocker:
    """An older mydocker in a root of its own, with a default bridge of its own (the
    variables go through `env`, which costs it ~1 ms per command)."""
    root = workdir / "baseline-root"
    root.mkdir(mode=0o700)
    rt = lc.MyDocker(binary, root)
    rt.name = rt.column = BASELINE
    rt.base = ["env", f"MYDOCKER_BRIDGE_NAME=mdbr-l{secrets.token_hex(3)}",
               f"MYDOCKER_BRIDGE_SUBNET={lc._free_subnet()}", binary, "--root", str(root)]
    rt.version = f"{binary} ({label or _git_of(binary)})"
    return rt


def _git_of(binary: str) -> str:
    checkout = Path(binary).resolve().parent.parent.parent
    try:
        return lc.output(["git", "-C", str(checkout), "describe", "--always", "--dirty"]).strip()
    except (lc.BenchError, OSError):
        return "not a git checkout"


def parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def memory(pid: int) -> tuple[float, float, str]:
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1])
    with open(f"/proc/{pid}/comm") as f:
        comm = f.read().strip()
    return fields.get("Rss", 0) / 1024, fields.get("Pss_Anon", 0) / 1024, comm


def floor(repeat: int) -> float:
    """The least a Python process that opens SQLite can cost here."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", "-c", "import sqlite3"], check=True)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def bytecode_state() -> str:
    """Whether mydocker's own modules load from precompiled bytecode."""
    spec = importlib.util.find_spec("mydocker.cli.main")
    origin = spec.origin if spec else None
    if not origin:
        return "unknown (mydocker not importable from this Python)"
    cached = importlib.util.cache_from_source(origin)
    fresh = os.path.exists(cached) and os.path.getmtime(cached) >= os.path.getmtime(origin)
    env = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "unset"
    return (f"{'precompiled' if fresh else 'NOT precompiled'} ({cached} {'present' if fresh else 'missing or stale'};"
            f" PYTHONDONTWRITEBYTECODE {env})")


# --------------------------------------------------------------------------- report

def med(row: Row, rt: str) -> float | None:
    samples = row.samples.get(rt)
    return statistics.median(samples) if samples else None


def best_peer(row: Row) -> tuple[str, float] | None:
    figures = [(p, m) for p in PEERS if (m := med(row, p)) is not None]
    return min(figures, key=lambda x: x[1]) if figures else None


def fmt(value: float | None, failures: int = 0) -> str:
    text = "—" if value is None else f"{value:.0f}"
    return text + (f" [{failures} failed]" if failures else "")


def latency_table(rows: list[Row], columns: list[str]) -> list[str]:
    lines = ["| operation (median ms) | " + " | ".join(columns) + " | mydocker / best peer | target | met |",
             "|---|" + "---:|" * len(columns) + "---|---:|---|"]
    for row in rows:
        cells = [fmt(med(row, c), len(row.failures.get(c, []))) for c in columns]
        best, mine = best_peer(row), med(row, "mydocker")
        if best and mine is not None:
            ratio = mine / best[1]
            verdict, met = f"{ratio:.2f} ({best[0]})", "yes" if ratio <= row.target else "no"
        else:
            verdict, met = "—", "—"
        lines.append(f"| {row.label} | " + " | ".join(cells) + f" | {verdict} | ≤ {row.target:.1f} | {met} |")
    return lines


def memory_table(monitors: list[tuple[str, dict[str, tuple[float, float, str]]]]) -> list[str]:
    lines = ["| monitor of a running `sleep 3600` (MB: RSS / Pss_Anon, process) | mydocker | baseline | docker"
             " | podman | target (mydocker) | met |", "|---|---|---|---|---|---|---|"]
    for label, figures in monitors:
        cells = []
        for rt in ("mydocker", BASELINE, *PEERS):
            f = figures.get(rt)
            cells.append(f"{f[0]:.1f} / {f[1]:.1f} ({f[2]})" if f else "—")
        mine = figures.get("mydocker")
        met = "—" if not mine else ("yes" if mine[0] <= 12 and mine[1] <= 5 else "no")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | ≤ 12 / ≤ 5 | {met} |")
    return lines


def report(rows, monitors, runtimes, unavailable, started, host, counts, extra, elapsed, args) -> str:
    columns = ["mydocker", *([BASELINE] if any(rt.name == BASELINE for rt in runtimes) else []), *PEERS, "runc"]
    out = [
        "# mydocker latency and monitor memory beside docker, podman and runc",
        "",
        f"Date: {started:%Y-%m-%d %H:%M} UTC. Machine: {host['nproc']} CPUs ({host['cpu']}), kernel"
        f" {host['kernel']}, Python {host['python']}; load average at start {host['load']}, at the end"
        f" {lc._loadavg()}. {args.repeat} repetitions, interleaved across runtimes (order rotated each"
        f" repetition); {elapsed / 60:.1f} minutes in all.",
        "",
        f"mydocker's bytecode: {extra['bytecode']}.",
        "",
        "Reproduce: `make bench` (`.venv/bin/python bench/latency.py --eventlog`). The machine is shared with other"
        " people's test runs on 2 cores: figures are noisy; read the ratios (each runtime measured in the same"
        " rounds) rather than single times.",
        "",
        *latency_table(rows, columns),
        "",
        *memory_table(monitors),
        "",
        f"Floor of a Python process per command here: `python3 -I -S -c 'import sqlite3'` {extra['floor']:.0f} ms"
        " (median).",
        "",
        "Runtimes:",
        "",
        *[f"- {rt.name}: {rt.version}" for rt in runtimes],
        *[f"- {name}: n/a ({why})" for name, why in unavailable.items()],
        "",
        "Notes:",
        "",
        f"- Every row runs with {N_PS} stopped containers present in each runtime (listed by `ps -a`: "
        + ", ".join(f"{k} {v}" for k, v in counts.items()) + "). runc's `ps` row is `runc list`, its inspect"
        " `runc state`; it has no images, logs, stop or bridge.",
        "- podman's `rm -f` is timed as `rm -f -t 0`: plain `podman rm -f` waits the 10 s stop timeout first.",
        "- Monitor: the parent of the container's PID 1 (mydocker's monitor, containerd-shim, conmon), read 1 s"
        " after `run -d`.",
    ]
    failed = [(row, name, errs) for row in rows for name, errs in row.failures.items()]
    if failed:
        out += ["", "Failures (the first error of each):", ""]
        out += [f"- {name}, {row.label}: {len(errs)}: `{errs[0].replace('`', chr(39))[-300:]}`"
                for row, name, errs in failed]
    if extra.get("eventlog"):
        out += ["", "## Event log (bench/eventlog.py)", "", "```", extra["eventlog"].strip(), "```"]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=11, help="repetitions of each timing (default 11)")
    p.add_argument("--runtimes", default="mydocker,docker,podman,runc")
    p.add_argument("--only", default="", help="comma-separated row keys (default all)")
    p.add_argument("--mydocker", help="the mydocker CLI (default: the one beside this Python)")
    p.add_argument("--docker", default=shutil.which("docker"))
    p.add_argument("--baseline", help="another mydocker CLI (an install of an older commit) timed beside this one")
    p.add_argument("--baseline-label", default="", help="what the baseline is (e.g. main at abc1234)")
    p.add_argument("--eventlog", action="store_true", help="also run bench/eventlog.py and keep its figures")
    p.add_argument("--output", default=str(HERE / "RESULTS.md"))
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.stderr.write("the benchmark runs containers: run it as root\n")
        return 2

    def _interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    wanted = [w.strip() for w in args.runtimes.split(",") if w.strip()]
    started, host, t0 = datetime.datetime.now(datetime.UTC), lc.machine(), time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="mydocker-latency-"))
    runner = lc.Runner(workdir)
    prefix = f"mdlat-{os.getpid()}-{secrets.token_hex(2)}"
    tag = f"mydocker-bench-busybox:{os.getpid()}-{secrets.token_hex(2)}"
    runtimes: list[lc.Runtime] = []
    unavailable: dict[str, str] = {}
    warnings: list[str] = []
    rows: list[Row] = []
    monitors: list = []
    counts: dict[str, int] = {}
    extra: dict[str, object] = {"bytecode": bytecode_state()}
    interrupted = False
    try:
        if "mydocker" in wanted:
            root = workdir / "root"
            root.mkdir(mode=0o700)
            os.environ["MYDOCKER_BRIDGE_NAME"] = f"mdbr-l{secrets.token_hex(3)}"
            os.environ["MYDOCKER_BRIDGE_SUBNET"] = lc._free_subnet()
            runtimes.append(lc.MyDocker(lc.find_mydocker(args.mydocker), root))
        if args.baseline:
            runtimes.append(baseline_runtime(args.baseline, workdir, args.baseline_label))
        peers = [w for w in wanted if w != "mydocker"]
        if peers:
            rootfs, tarball = lc.build_busybox_rootfs(workdir)
            detectors = {
                "docker": lambda: lc.detect_docker(args.docker, tarball, runner, tag),
                "podman": lambda: lc.detect_podman(shutil.which("podman"), tarball, runner, "localhost/" + tag),
                "runc": lambda: lc.detect_runc(shutil.which("runc"), workdir, rootfs, runner),
            }
            for peer in peers:
                rt, why = detectors[peer]() if peer in detectors else (None, "unknown runtime")
                if rt is None:
                    unavailable[peer] = why
                    lc.log(f"{peer}: n/a ({why})")
                else:
                    runtimes.append(rt)
                    lc.log(f"{peer}: {rt.version}")
        if not runtimes:
            raise lc.BenchError("no runtime to measure")
        bench = Latency(runtimes, runner, prefix, args.repeat)
        for rt in runtimes:  # warm-up: mydocker builds its image and bridge here
            runner.run(rt.run_rm(bench.name(), ["true"], "none"))
            if None in rt.networks:
                runner.run(rt.run_rm(bench.name(), ["true"], None))
        rows = bench.rows()
        if args.only:
            keys = {k.strip() for k in args.only.split(",")}
            rows = [r for r in rows if r.key in keys]
        counts = bench.populate()
        bench.timings(rows)
        monitors = bench.monitors()
        extra["floor"] = floor(args.repeat)
    except KeyboardInterrupt:
        interrupted = True
        lc.log("interrupted; cleaning up")
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
        if any(m.startswith(str(workdir) + "/") for m in lc._mounts()):
            warnings.append(f"not removing {workdir}: something is still mounted under it")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        for w in warnings:
            lc.log(f"warning: {w}")
    if interrupted:
        return 130
    if args.eventlog:
        proc = subprocess.run([sys.executable, str(HERE / "eventlog.py")], capture_output=True, text=True)
        extra["eventlog"] = proc.stdout + (f"(exit {proc.returncode}: {proc.stderr[-300:]})" if proc.returncode else "")
    md = report(rows, monitors, runtimes, unavailable, started, host, counts, extra, time.monotonic() - t0, args)
    print(md)
    if not args.no_write:
        Path(args.output).write_text(md)
        lc.log(f"wrote {args.output}")
    return 1 if warnings else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except lc.BenchError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(1)
