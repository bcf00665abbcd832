"""Reconcile: compare what the log says with what the kernel holds, and repair.

Run at the start of every command that reads state, so it must be cheap when
all is well: one indexed query, the boot id, and a /proc/PID/stat read per
running container. Only when something is off does it import the state
machine's library, take the container's lock and append events (the survey asks
the table's static questions: machine.can, machine.sources).

What it repairs (each by appending events and re-running idempotent teardown):
- running, but (pid, start time, boot id) names no live process and no monitor
  is left to say so: `die` (reason "host reboot" or "monitor lost");
- running and alive, but its monitor is gone: `adopt` by a new watcher that
  records the exit later (status unknown, OOM still seen through the cgroup);
- created, with cgroups left by a start that crashed midway: released;
- `destroying` without `destroy` (an rm that crashed midway): finished;
- restarting, but the restart policy's sleeper is gone (host reboot, killed):
  the wait is over, the last exit stands (`system restore` starts it at boot).
A container whose lock is held is being worked on right now and is skipped.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from typing import NamedTuple

from mydocker.core import locks, procinfo

UNKNOWN_EXIT = 255


class Finding(NamedTuple):  # not a dataclass: every reading command surveys, and dataclasses costs ~10 ms
    container_id: str
    name: str
    problem: str  # reboot | dead | orphaned | half-started | half-removed | restart-lost


def survey(conn: sqlite3.Connection) -> list[Finding]:
    """What is inconsistent, without changing anything."""
    findings: list[Finding] = []
    boot: str | None = None
    from mydocker.statemachine.machine import can, is_alive, sources

    # the states the table's recovery rows start from: alive, or created (a start that may have crashed)
    watched = sources("adopt", "abort_start")
    # CROSS JOIN keeps the containers table (live containers only) as the outer loop: with
    # the OR below, SQLite would otherwise scan the whole events table, which grows with
    # every container that ever lived (10,000 removed containers cost every command 80 ms,
    # 1,000,000 events 2 s).
    # config only where it is read (a start that may have crashed): with hundreds running,
    # their configs were most of what this query read
    aborting = sources("abort_start")
    rows = conn.execute(
        "SELECT c.id, c.name, c.state, c.pid, c.pid_start, c.boot_id, c.monitor_pid, c.monitor_start,"
        f" CASE WHEN c.state IN ({', '.join('?' * len(aborting))}) THEN c.config END, e.type"
        " FROM containers c CROSS JOIN events e ON e.stream_id = c.id AND e.version = c.version"
        f" WHERE c.state IN ({', '.join('?' * len(watched))}) OR e.type = 'destroying'", (*aborting, *watched)
    ).fetchall()
    for cid, name, state, pid, pid_start, boot_id, mpid, mstart, config, last in rows:
        if last == "destroying":
            findings.append(Finding(cid, name, "half-removed"))
        elif is_alive(state):  # a live init, or one that died unseen
            boot = boot or procinfo.boot_id()
            if boot_id != boot:
                findings.append(Finding(cid, name, "reboot"))
                continue
            # A live monitor records whatever becomes of the init: only without one does
            # the init's own /proc entry matter (one read per container, not two).
            if procinfo.is_same_process(mpid, mstart):
                continue
            alive = procinfo.is_same_process(pid, pid_start)
            findings.append(Finding(cid, name, "orphaned" if alive else "dead"))
        elif can(state, "abort_start") and _has_cgroups(config):
            findings.append(Finding(cid, name, "half-started"))
    # restarting: the wait is the sleeper's; if it is gone, nobody will start the container
    waiting = sources("abandon_restart")
    for cid, name, mpid, mstart in conn.execute(
            "SELECT id, name, monitor_pid, monitor_start FROM containers"
            f" WHERE state IN ({', '.join('?' * len(waiting))})", waiting):
        if not procinfo.is_same_process(mpid, mstart):  # a zombie sleeper is dead as well
            findings.append(Finding(cid, name, "restart-lost"))
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
    from mydocker.statemachine.volume_mounts import unmount_unused

    unmount_unused(root, conn)  # after the repairs: a die recorded now released its volumes
    return repaired


def _repair(root: str, finding: Finding) -> bool:
    from mydocker.statemachine import aggregate, queries
    from mydocker.statemachine.context import Context
    from mydocker.statemachine.effects import spec_of
    from mydocker.statemachine.monitorhooks import effects_for

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
                # removed since survey(): our open may have made its lock file anew
                locks.forget(root, finding.container_id)
                return False
            still = [f for f in survey(ctx.conn) if f.container_id == finding.container_id]
            if not still or still[0].problem != finding.problem:
                return False  # fixed meanwhile
            effects = effects_for(ctx)
            if finding.problem in ("reboot", "dead"):
                reason = "host reboot" if finding.problem == "reboot" else "monitor lost"
                if finding.problem == "dead":
                    from mydocker.core import cgroups

                    oom = cgroups.oom_killed(spec_of(current).cgroups)
                else:
                    oom = False
                aggregate.transact(ctx, current.id, "die", effects,
                                   exit={"exit_code": UNKNOWN_EXIT, "oom_killed": oom, "reason": reason})
            elif finding.problem == "orphaned":
                aggregate.transact(ctx, current.id, "adopt", effects, reason="monitor lost")
            elif finding.problem == "restart-lost":
                aggregate.transact(ctx, current.id, "abandon_restart", effects, reason="restart lost")
            elif finding.problem == "half-started":
                aggregate.transact(ctx, current.id, "abort_start", effects, reason="start did not finish")
            elif finding.problem == "half-removed":
                aggregate.transact(ctx, current.id, "finish_removal", effects)
                locks.forget(root, current.id)
            return True
        finally:
            ctx.close()
    finally:
        os.close(fd)
