"""A synthetic log of N events, as a month of a busy host would write it, written fast
(one executemany) with projections folded by the real code (store/replay.py), so that
`replay --check` accepts it. Every payload has the shape the CLI's own events have."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from mydocker.store.db import connect, writer
from mydocker.store.replay import fold_log

IMAGE = "sha256:" + "ab" * 32
NETWORK = "cd" * 32
LIVE = 100  # containers alive at any moment, about


def _config(cid: str, name: str, root: str, rng: random.Random) -> dict[str, Any]:
    directory = f"{root}/containers/{cid}"
    labels = {"tier": rng.choice(["web", "db", "batch"])}
    return {
        "spec": {
            "id": cid, "root": root, "argv": ["sh", "-c", "sleep 1000"], "env": ["PATH=/bin", f"NAME={name}"],
            "hostname": cid[:12], "workdir": "/", "layers": [f"{root}/layers/base"],
            "cgroups": {"unified": f"/sys/fs/cgroup/mydocker/mydocker-abcdef-{cid}"},
            "limits": {"memory": 64 << 20} if rng.random() < 0.3 else {},
            "security": {"capabilities": ["CHOWN", "KILL"], "seccomp": True}, "tty": False,
            "interactive": False, "network": "bridge", "mounts": [],
        },
        "image_ref": "busybox", "entrypoint": [], "cmd": ["sh", "-c", "sleep 1000"], "autoremove": False,
        "cgroup_parent": None, "directory": directory, "labels": labels,
        "network": {"name": "bridge", "id": NETWORK, "ports": []},
    }


def build(root: str, total: int, seed: int = 14) -> tuple[str, str]:
    """Write `total` events to ROOT's log; returns the first and the last event's time."""
    rng = random.Random(seed)
    conn = connect(root)
    rows: list[tuple[str, str, int, str, str, str, str]] = []
    versions: dict[str, int] = {}
    clock = datetime.now(UTC) - timedelta(days=30)
    step = 30 * 86400 / total * 2  # a month of events, on average

    def emit(stype: str, sid: str, etype: str, payload: dict[str, Any], command: str = "") -> None:
        nonlocal clock
        clock += timedelta(seconds=rng.uniform(0, step))
        versions[sid] = versions.get(sid, 0) + 1
        actor = {"command": command or etype, "pid": rng.randrange(1000, 60000), "uid": 0, "user": "root"}
        rows.append((sid, stype, versions[sid], etype, clock.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                     json.dumps(actor, sort_keys=True), json.dumps(payload, sort_keys=True)))

    emit("image", IMAGE, "import", {"tags": ["busybox:latest"], "size": 1_200_000, "layers": ["base"],
                                    "config": {"config": {"Cmd": ["sh"]}}, "created": "2025-01-01T00:00:00Z"})
    emit("network", NETWORK, "create", {"name": "bridge", "driver": "bridge", "subnet": "172.29.0.0/16",
                                        "gateway": "172.29.0.1", "bridge": "mydocker-abcdef"})
    free_ips = [f"172.29.{i // 250}.{i % 250 + 2}" for i in range(2000)]
    live: dict[str, dict[str, Any]] = {}  # id -> {"state", "ip", "name"}
    serial = 0

    def start(cid: str) -> None:
        c = live[cid]
        pid = rng.randrange(1000, 4_000_000)
        emit("container", cid, "start", {"pid": pid, "pid_start": pid * 7, "boot_id": "boot-1",
                                         "monitor_pid": pid - 1, "monitor_start": pid * 7 - 1}, "start")
        ip = free_ips.pop(rng.randrange(len(free_ips)))
        endpoint = {"container": cid, "veth": f"md-{cid[:8]}", "mac": "02:42:ac:1d:00:02", "prefixlen": 16}
        emit("network", NETWORK, "allocate", {"ip": ip, "endpoint": endpoint})
        emit("container", cid, "connect", {"endpoint": {**endpoint, "ip": ip, "gateway": "172.29.0.1",
                                                        "bridge": "mydocker-abcdef", "ports": []}})
        c.update(state="running", ip=ip)

    def die(cid: str, code: int) -> None:
        c = live[cid]
        emit("container", cid, "die", {"exit_code": code, "oom_killed": code == 137 and rng.random() < 0.5,
                                       "reason": "exited" if code < 128 else f"killed by signal {code - 128}"})
        emit("container", cid, "disconnect", {})
        emit("network", NETWORK, "release", {"ip": c["ip"]})
        free_ips.append(c["ip"])
        c.update(state="stopped", ip=None)

    while len(rows) < total - 10:
        if len(live) < LIVE * 0.8 or (len(live) < LIVE * 1.2 and rng.random() < 0.08):
            serial += 1
            cid = f"{rng.getrandbits(256):064x}"
            name = f"c{serial}"
            live[cid] = {"state": "created", "ip": None, "name": name}
            emit("container", cid, "create", {"name": name, "image": "busybox", "image_id": IMAGE,
                                              "command": ["sh", "-c", "sleep 1000"],
                                              "config": _config(cid, name, root, rng)}, "run -d busybox")
            continue
        cid = rng.choice(list(live))
        c = live[cid]
        roll = rng.random()
        if c["state"] == "created":
            start(cid)
        elif c["state"] == "running":
            if roll < 0.4:
                emit("container", cid, "exec_start", {"exec_id": f"{rng.getrandbits(64):016x}", "argv": ["ps"]})
                emit("container", cid, "exec_die", {"exit_code": 0})
            elif roll < 0.5:
                emit("container", cid, "pause", {})
                c["state"] = "paused"
            elif roll < 0.55:
                emit("container", cid, "update", {"limits": {"pids_limit": rng.randrange(50, 500)}})
            else:
                emit("container", cid, "kill", {"signal": 15})
                die(cid, rng.choice([0, 0, 1, 137, 143]))
                emit("container", cid, "stop", {"timeout": 10})
        elif c["state"] == "paused":
            emit("container", cid, "unpause", {})
            c["state"] = "running"
        else:  # stopped
            if roll < 0.3:
                start(cid)
            elif roll < 0.4:
                c["name"] = f"{c['name']}-old"
                emit("container", cid, "rename", {"name": c["name"]})
            else:
                emit("container", cid, "destroying", {"directory": f"{root}/containers/{cid}"})
                emit("container", cid, "destroy", {"directory": f"{root}/containers/{cid}"}, "rm")
                del live[cid]
    # Nothing left running: a command's reconcile would otherwise record their deaths.
    for cid, c in list(live.items()):
        if c["state"] == "paused":
            emit("container", cid, "unpause", {})
        if c["state"] in ("running", "paused"):
            die(cid, 0)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO events (stream_id, stream_type, version, type, time, actor, payload)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    db = writer(conn)
    with db.atomic():
        for table, projected in fold_log(conn).items():
            if projected:
                db[table].insert_all(projected.values())
    conn.close()
    return rows[0][4], rows[-1][4]
