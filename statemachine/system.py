"""system check / prune: host objects of this root that the log does not know."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from mydocker.core import cgroups
from mydocker.statemachine import queries
from mydocker.statemachine.context import Context
from mydocker.statemachine.reconcile import survey


def _expected_cgroups(ctx: Context) -> set[str]:
    expected: set[str] = set()
    for view in queries.list_all(ctx.conn, include_stopped=False):
        expected.update(view.config["spec"]["cgroups"].values())
    return expected


def leaks(ctx: Context) -> list[tuple[str, str]]:
    """[(kind, what)] of this root's objects that no live container accounts for."""
    found: list[tuple[str, str]] = []
    expected = _expected_cgroups(ctx)
    busy_ids = {row[0] for row in ctx.conn.execute("SELECT id FROM containers WHERE state != 'running'")}
    for directory in cgroups.find_ours(ctx.tag):
        short = directory.rsplit("-", 1)[-1]
        starting = any(cid.startswith(short) for cid in busy_ids) and not os.listdir(directory) == []
        if directory not in expected and not starting:
            found.append(("cgroup", directory))
    known = {row[0] for row in ctx.conn.execute("SELECT id FROM containers")}
    containers = Path(ctx.root) / "containers"
    if containers.is_dir():
        found += [("directory", str(d)) for d in containers.iterdir() if d.name not in known]
    root = os.path.abspath(ctx.root)
    with open("/proc/mounts") as f:
        found += [("mount", line.split()[1]) for line in f if line.split()[1].startswith(root + "/")]
    from mydocker.core import layers
    from mydocker.statemachine import layer_gc

    found += [("download", str(path)) for path in layers.stale(ctx.root)]  # a killed pull's leftovers
    found += [("layer", str(path)) for path in layer_gc.unused_layers(ctx)]
    return found + _network_leaks(ctx)


def _network_leaks(ctx: Context) -> list[tuple[str, str]]:
    """Veths, bridges and iptables rules tagged with a network or container of this
    root's log that is gone or not running. Objects tagged for ids this log has
    never seen belong to another root and are not ours to judge."""
    conn = ctx.conn
    ever_networks = {r[0] for r in conn.execute("SELECT DISTINCT stream_id FROM events WHERE stream_type = 'network'")}
    if not ever_networks:
        return []  # never had a network: nothing to look for, no pyroute2 to import
    from mydocker.core import iptables, network

    live_networks = {r[0] for r in conn.execute("SELECT id FROM networks")}
    ever_containers = {r[0][:12] for r in conn.execute(
        "SELECT DISTINCT stream_id FROM events WHERE stream_type = 'container'")}
    running = {r[0][:12] for r in conn.execute("SELECT id FROM containers WHERE state = 'running'")}
    found: list[tuple[str, str]] = []
    for name, alias in network.our_links():
        owner = alias.removeprefix(network.ALIAS_PREFIX) if alias else ""
        if owner in ever_networks and owner not in live_networks:
            found.append(("bridge", f"{name} {owner}"))
        elif name.startswith("md-") and name[3:] in ever_containers and name[3:] not in running:
            found.append(("veth", name))
    short_networks = {n[:12]: n for n in ever_networks}
    for line in iptables.list_rules():
        tag = next((w.strip('"') for w in line.split() if w.strip('"').startswith("mydocker:")), "")
        parts = tag.split(":")[1:]
        if not parts or parts[0] not in short_networks:
            continue
        network_gone = short_networks[parts[0]] not in live_networks
        container_gone = len(parts) > 1 and parts[1] in ever_containers and parts[1] not in running
        if network_gone or container_gone:
            found.append(("rule", line))
    return found


def check(ctx: Context) -> dict[str, Any]:
    return {
        "running": [v.name for v in queries.list_all(ctx.conn, include_stopped=False)],
        "findings": [f"{f.name} ({f.container_id[:12]}): {f.problem}" for f in survey(ctx.conn)],
        "leaks": [f"{kind} {what}" for kind, what in leaks(ctx)],
    }


def prune(ctx: Context) -> dict[str, Any]:
    from mydocker.core import syscalls

    removed = leaks(ctx)
    for kind, what in removed:
        if kind == "cgroup":
            try:
                cgroups.remove({"leak": what})
            except cgroups.CgroupError:
                pass
        elif kind == "directory":
            shutil.rmtree(what, ignore_errors=True)
        elif kind == "download":
            from mydocker.core import layers

            layers.remove_stale(Path(what))
        elif kind == "layer":
            from mydocker.statemachine import layer_gc

            layer_gc.remove(Path(what))
        elif kind == "mount":
            syscalls.umount(what, syscalls.MNT_DETACH)
        elif kind == "veth":
            from mydocker.core import network

            network.detach(what)
        elif kind == "bridge":
            from mydocker.core import network

            name, network_id = what.split()
            network.delete_bridge(name, network_id)
        elif kind == "rule":
            from mydocker.core import iptables

            iptables.remove([iptables.parse_listed(what)])
    report = check(ctx)
    report["leaks"] = [f"{kind} {what}" for kind, what in removed]
    return report
