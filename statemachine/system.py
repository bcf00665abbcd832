"""system check / prune / reset, and what deleted roots left behind.

check/prune: host objects of this root that the log does not know.
reset: everything this root put on the host, then the root itself.
orphans/prune_orphans: objects whose root tag (core/roottags.py) names only
roots that no longer exist; never an object of a live root, never one
without our tag.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mydocker.core import cgroups, roottags
from mydocker.statemachine import queries
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import UserError
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
    busy_ids = {row[0] for row in ctx.conn.execute(
        "SELECT id FROM containers WHERE state NOT IN ('running', 'paused')")}
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
    from mydocker.statemachine import volume_mounts

    used = volume_mounts.in_use(root, ctx.conn)  # a `volume create -o` volume's device, while a container runs with it
    with open("/proc/mounts") as f:
        found += [("mount", p) for p in (line.split()[1] for line in f) if p.startswith(root + "/") and p not in used]
    from mydocker.core import layers
    from mydocker.statemachine import layer_gc

    found += [("download", str(path)) for path in layers.stale(ctx.root)]  # a killed pull's leftovers
    found += [("layer", str(path)) for path in layer_gc.unused_layers(ctx)]
    return found + _network_leaks(ctx)


def _network_leaks(ctx: Context) -> list[tuple[str, str]]:
    """Veths, bridges and iptables rules tagged with a network or container of this
    root's log that is gone or not running; and, when no other root shares this
    root's tag, anything else with the tag: left by an earlier root at this path,
    deleted and made anew. An object of another root is not ours to judge."""
    from mydocker.core import iptables, network

    conn = ctx.conn
    exclusive = roottags.roots_of(ctx.tag) == [os.path.abspath(ctx.root)]
    # stream_spans: a row per stream, kept with the log (migration 0009), so that a
    # check of a month-old host does not read every event to list its streams
    if not conn.execute("SELECT 1 FROM stream_spans WHERE stream_type = 'network' LIMIT 1").fetchone():
        # Never had a network: only an earlier root at this path can have left
        # something, and then a tagged link (rules go before their bridge does).
        ours = [a for _, a in network.sysfs_aliases() if (network.parse_alias(a) or ("",))[0] == ctx.tag]
        if not exclusive or not ours:
            return []  # nothing to look for, no pyroute2 to import
    # The host first, the log second: a root records an id before it builds with
    # it, so an object made meanwhile by a concurrent command has its id in the log.
    links, rules = network.our_links(), iptables.list_rules()
    ever_networks = {r[0] for r in conn.execute("SELECT stream_id FROM stream_spans WHERE stream_type = 'network'")}
    live_networks = {r[0] for r in conn.execute("SELECT id FROM networks")}
    ever_containers = {r[0][:12] for r in conn.execute(
        "SELECT stream_id FROM stream_spans WHERE stream_type = 'container'")}
    running = {r[0][:12] for r in conn.execute("SELECT id FROM containers WHERE state IN ('running', 'paused')")}
    found: list[tuple[str, str]] = []
    for name, alias in links:
        owner = network.parse_alias(alias)
        if owner is not None and owner[0] not in ("", ctx.tag):
            continue
        if owner is not None and owner[0] and owner[1] not in ever_networks:
            if exclusive:
                found.append(("veth" if owner[2] else "bridge", f"{name} {alias}"))
        elif owner is not None and not owner[2]:
            if owner[1] in ever_networks and owner[1] not in live_networks:
                found.append(("bridge", f"{name} {alias}"))
        elif name.startswith("md-") and _veth_owner(name, owner) in ever_containers \
                and _veth_owner(name, owner) not in running:
            found.append(("veth", f"{name} {alias}" if alias else name))
    short_networks = {n[:12]: n for n in ever_networks}
    for line in rules:
        rule_owner = iptables.owner_of(line)
        if rule_owner is None or rule_owner[0] not in ("", ctx.tag):
            continue
        if rule_owner[1] not in short_networks:
            if rule_owner[0] and exclusive:
                found.append(("rule", line))
            continue
        network_gone = short_networks[rule_owner[1]] not in live_networks
        container = rule_owner[2]
        container_gone = bool(container) and container in ever_containers and container not in running
        if network_gone or container_gone:
            found.append(("rule", line))
    return found


def _veth_owner(name: str, owner: tuple[str, str, str] | None) -> str:
    """The short id of a veth's container: from its tag (md-<10 hex>.<n>, a second
    network's, does not spell all 12), else from md-<12 hex>."""
    return owner[2][:12] if owner is not None and owner[2] else name[3:]


def check(ctx: Context) -> dict[str, Any]:
    from mydocker.store.db import integrity_problems

    corrupt = integrity_problems(ctx.root)
    if corrupt:  # nothing read from a damaged log can be trusted: say only that
        return {"corrupt": corrupt, "running": [], "findings": [], "leaks": []}
    return {
        "corrupt": [],
        "running": [v.name for v in queries.list_all(ctx.conn, include_stopped=False)],
        "findings": [f"{f.name} ({f.container_id[:12]}): {f.problem}" for f in survey(ctx.conn)],
        "leaks": [f"{kind} {what}" for kind, what in leaks(ctx)],
    }


def repair(ctx: Context) -> dict[str, Any]:
    """system check --fix: check's report, its leaks removed (and only those)."""
    from mydocker.store.db import integrity_problems

    corrupt = integrity_problems(ctx.root)
    if corrupt:  # a damaged log could name what is not a leak: remove nothing
        return {"corrupt": corrupt, "running": [], "findings": [], "leaks": []}
    removed, _ = remove_leaks(ctx)
    report = check(ctx)
    report["leaks"] = removed
    return report


def remove_leaks(ctx: Context) -> tuple[list[str], int]:
    """Remove this root's leaks: ("kind what" of each, bytes freed on disk)."""
    from mydocker.core.images import directory_size

    removed, freed = [], 0
    for kind, what in leaks(ctx):
        if kind in ("directory", "download", "layer"):
            try:
                freed += os.path.getsize(what) if os.path.isfile(what) else directory_size(what)
            except OSError:  # gone meanwhile: nothing freed
                pass
        _remove(kind, what)
        removed.append(f"{kind} {what}")
    return removed, freed


def _remove(kind: str, what: str) -> None:
    """Remove one host object as leaks() and orphans() name it; gone already is fine."""
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
        from mydocker.core import syscalls

        syscalls.umount(what, syscalls.MNT_DETACH)
    elif kind in ("veth", "bridge"):
        from mydocker.core import network

        name, _, alias = what.partition(" ")
        if kind == "bridge":
            network.delete_bridge(name, alias)
        else:
            network.detach(name, alias or None)
    elif kind == "rule":
        from mydocker.core import iptables

        iptables.remove([iptables.parse_listed(what)])
    elif kind == "process":
        import signal

        try:
            os.kill(int(what.split()[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- what roots that no longer exist left behind ----------------------------------


@dataclass(frozen=True)
class Orphan:
    kind: str  # process, cgroup, veth, rule, bridge: the order they are removed in
    what: str
    tag: str
    status: str  # roottags.GONE (removable) or roottags.UNKNOWN (listed, never removed)
    roots: tuple[str, ...]


KINDS = ("process", "cgroup", "veth", "rule", "bridge")


def orphans(tags: set[str] | None = None) -> list[Orphan]:
    """Every host object whose root tag is not a live root's (of those tags, if
    given), in removal order."""
    from mydocker.core import iptables, network

    found: list[tuple[str, str, str]] = []
    for directory in cgroups.find_ours(""):
        tag = _cgroup_tag(directory)
        if tag:
            found.append(("cgroup", directory, tag))
    for name, alias in network.our_links():
        owner = network.parse_alias(alias)
        if owner is not None and owner[0]:
            found.append(("veth" if owner[2] else "bridge", f"{name} {alias}", owner[0]))
    for line in iptables.list_rules():
        rule_owner = iptables.owner_of(line)
        if rule_owner is not None and rule_owner[0]:
            found.append(("rule", line, rule_owner[0]))
    if tags is not None:
        found = [f for f in found if f[2] in tags]
    status = {tag: roottags.status(tag) for tag in {t for _, _, t in found}}
    gone_roots = {tag: roottags.roots_of(tag) for tag, s in status.items() if s == roottags.GONE}
    for tag, roots in gone_roots.items():
        for root in roots:
            found += [("process", f"{pid} {_cmdline(pid)}", tag) for pid in roottags.processes_of(root)]
    result = [Orphan(kind, what, tag, status[tag], tuple(roottags.roots_of(tag)))
              for kind, what, tag in found if status[tag] != roottags.LIVE]
    return sorted(result, key=lambda o: (KINDS.index(o.kind), o.tag, o.what))


def _cgroup_tag(directory: str) -> str:
    """The root tag in mydocker-<tag>-<container>, '' for an untagged one."""
    parts = os.path.basename(directory).removeprefix(cgroups.PREFIX).split("-")
    return parts[0] if len(parts) == 2 and roottags.is_tag(parts[0]) else ""


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return ""


def prune_orphans(tags: set[str] | None = None) -> list[Orphan]:
    """Remove what gone roots left (processes first: a monitor left running would
    record its container's death by re-creating the deleted root)."""
    removed = [o for o in orphans(tags) if o.status == roottags.GONE]
    for orphan in removed:
        _remove(orphan.kind, orphan.what)
    left = {o.tag for o in orphans(tags)}
    for tag in {o.tag for o in removed} - left:  # the registry line is all that is left of it
        roottags.forget_gone(tag)
    return removed


def orphan_report(items: list[Orphan]) -> list[dict[str, Any]]:
    return [asdict(o) for o in items]


# --- system reset ------------------------------------------------------------------


def reset(ctx: Context) -> dict[str, Any]:
    """Remove every container, network, volume and image of this root, whatever
    it left on the host, then the root directory itself and its registry line."""
    from mydocker.statemachine import lifecycle, networks

    removed: dict[str, list[str]] = {"containers": [], "networks": [], "leaks": []}
    for view in queries.list_all(ctx.conn, include_stopped=True):
        lifecycle.remove(ctx, view.id, force=True, remove_volumes=True)
        removed["containers"].append(view.name)
    for net_view in networks.list_all(ctx.conn):
        networks.remove(ctx, net_view.id, allow_predefined=True)
        removed["networks"].append(net_view.name)
    for kind, what in leaks(ctx):
        _remove(kind, what)
        removed["leaks"].append(f"{kind} {what}")
    left = leaks(ctx)
    if left:
        raise UserError(f"still on the host after teardown: {left[0][0]} {left[0][1]}")
    root = os.path.abspath(ctx.root)  # no mount left under it (leaks() counts them): rmtree stays inside
    ctx.close()
    shutil.rmtree(root)
    roottags.unregister(root)
    return removed
