"""Reconcile: compare what the log says with what the kernel holds, and repair.

Run at the start of every command that reads state, so it must be cheap when
all is well: one indexed query, the boot id, and a /proc/PID/stat read per
running container. Only when something is off does it import the state
machine, take the container's lock and append events.

What it repairs (each by appending events and re-running idempotent teardown):
- running, but (pid, start time, boot id) names no live process and no monitor
  is left to say so: `die` (reason "host reboot" or "monitor lost");
- running and alive, but its monitor is gone: `adopt` by a new watcher that
  records the exit later (status unknown, OOM still seen through the cgroup);
- created, with cgroups left by a start that crashed midway: released;
- `destroying` without `destroy` (an rm that crashed midway): finished.
A container whose lock is held is being worked on right now and is skipped.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass

from mydocker.core import locks, procinfo

UNKNOWN_EXIT = 255


@dataclass
class Finding:
    container_id: str
    name: str
    problem: str  # reboot | dead | orphaned | half-started | half-removed


def survey(conn: sqlite3.Connection) -> list[Finding]:
    """What is inconsistent, without changing anything."""
    findings: list[Finding] = []
    boot: str | None = None
    rows = conn.execute(
        "SELECT c.id, c.name, c.state, c.pid, c.pid_start, c.boot_id, c.monitor_pid, c.monitor_start,"
        " c.config, e.type FROM containers c JOIN events e ON e.stream_id = c.id AND e.version = c.version"
        " WHERE c.state IN ('running', 'paused', 'created') OR e.type = 'destroying'"
    ).fetchall()
    for cid, name, state, pid, pid_start, boot_id, mpid, mstart, config, last in rows:
        if last == "destroying":
            findings.append(Finding(cid, name, "half-removed"))
        elif state in ("running", "paused"):
            boot = boot or procinfo.boot_id()
            if boot_id != boot:
                findings.append(Finding(cid, name, "reboot"))
                continue
            alive = procinfo.is_same_process(pid, pid_start)
            monitored = procinfo.is_same_process(mpid, mstart)
            if not alive and not monitored:
                findings.append(Finding(cid, name, "dead"))
            elif alive and not monitored:
                findings.append(Finding(cid, name, "orphaned"))
        elif state == "created" and _has_cgroups(config):
            findings.append(Finding(cid, name, "half-started"))
    return findings


def _has_cgroups(config: str) -> bool:
    import json

    return any(os.path.isdir(d) for d in json.loads(config)["spec"]["cgroups"].values())


def reconcile(root: str, conn: sqlite3.Connection) -> list[Finding]:
    """Repair what survey() finds; returns what was repaired."""
    findings = survey(conn)
    repaired = []
    for finding in findings:
        if _repair(root, finding):
            repaired.append(finding)
    return repaired


def _repair(root: str, finding: Finding) -> bool:
    from mydocker.statemachine import lifecycle, queries
    from mydocker.statemachine.context import Context
    from mydocker.statemachine.effects import spec_of
    from mydocker.statemachine.machine import Container
    from mydocker.store.events import Event

    path = locks.lock_path(root, finding.container_id)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live command holds it and will finish the job
        ctx = Context(root, f"reconcile ({finding.problem})")
        try:
            current = queries.by_id(ctx.conn, finding.container_id)
            if current is None:
                return False
            still = [f for f in survey(ctx.conn) if f.container_id == finding.container_id]
            if not still or still[0].problem != finding.problem:
                return False  # fixed meanwhile
            effects = lifecycle.effects_for(ctx)
            aggregate = Container(current, effects, record=lambda evs: lifecycle.commit(ctx, current.id, evs))
            if finding.problem in ("reboot", "dead"):
                reason = "host reboot" if finding.problem == "reboot" else "monitor lost"
                if finding.problem == "dead":
                    from mydocker.core import cgroups

                    oom = cgroups.oom_killed(spec_of(current).cgroups)
                else:
                    oom = False
                aggregate.handle("die", exit={"exit_code": UNKNOWN_EXIT, "oom_killed": oom, "reason": reason})
            elif finding.problem == "orphaned":
                watcher = _spawn_watcher(root, current.id, current.row["pid"], current.row["pid_start"])
                aggregate.pending.append(Event("adopt", {"monitor_pid": watcher[0], "monitor_start": watcher[1],
                                                         "reason": "monitor lost"}))
            elif finding.problem == "half-started":
                effects.release(current)
                aggregate.pending.append(Event("start_aborted", {"reason": "start did not finish"}))
            elif finding.problem == "half-removed":
                effects.teardown(current)
                config = current.config
                aggregate.pending.append(Event("destroy", {"cgroups": config["spec"]["cgroups"],
                                                           "directory": config.get("directory", "")}))
            lifecycle.commit(ctx, current.id, aggregate.pending)
            if finding.problem == "half-removed":
                locks.forget(root, current.id)
            return True
        finally:
            ctx.close()
    finally:
        os.close(fd)



def _spawn_watcher(root: str, container_id: str, pid: int, pid_start: int) -> tuple[int, int]:
    """A stand-in monitor for an orphaned container (see statemachine.watcher).

    A fresh interpreter, not a fork: SQLite's per-process state about open
    database files must not be inherited by a process that opens the database."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "mydocker.statemachine.watcher", root, container_id, str(pid), str(pid_start)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True, cwd="/",
        env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))},
    )
    return proc.pid, procinfo.start_time(proc.pid) or 0
