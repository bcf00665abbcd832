"""Many state roots on one host: each gets its own default network with no set-up,
`system reset` removes a root and all it made, and `system prune --orphans`
removes what a deleted root left behind — never what a live root owns.

All traffic stays on this machine: the host pings containers these tests ran,
on the addresses their roots picked.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

from mydocker.core import cgroups, iptables, network, roottags

from tests.integration.conftest import free_host_port, free_subnet

BUSYBOX = "/bin/busybox"


def _tagged(tag: str) -> list[str]:
    """Everything on the host that carries the root tag."""
    found = [f"cgroup {d}" for d in cgroups.find_ours(tag)]
    for name, alias in network.our_links():
        owner = network.parse_alias(alias)
        if owner is not None and owner[0] == tag:
            found.append(f"link {name}")
    for line in iptables.list_rules():
        rule_owner = iptables.owner_of(line)
        if rule_owner is not None and rule_owner[0] == tag:
            found.append(f"rule {line}")
    return sorted(found)


def _network_create_event(rt) -> dict:
    with rt.db() as conn:
        row = conn.execute("SELECT payload FROM events WHERE stream_type = 'network' AND type = 'create'"
                           " AND json_extract(payload, '$.name') = 'bridge'").fetchone()
    return json.loads(row[0])


def test_two_roots_run_side_by_side_on_their_own_default_networks(md, md2):
    md.env, md2.env = {}, {}  # no overrides: each root picks its bridge and a free subnet itself
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda rt: rt.ok("run", "-d", "--name", "web", "busybox", "top"), [md, md2]))
    subnets = []
    for rt in (md, md2):
        info = json.loads(rt.ok("network", "inspect", "bridge"))[0]
        bridge = info["Options"]["com.docker.network.bridge.name"]
        subnet = ipaddress.ip_network(info["IPAM"]["Config"][0]["Subnet"])
        assert bridge == f"mydocker-{rt.tag}"
        assert open(f"/sys/class/net/{bridge}/ifalias").read().strip() == f"mydocker@{rt.tag}:{info['Id']}"
        created = _network_create_event(rt)  # the choice is an event: replay and inspect show it
        assert (created["bridge"], created["subnet"], created["root_tag"]) == (bridge, str(subnet), rt.tag)
        ip = rt.inspect("web")["NetworkSettings"]["IPAddress"]
        assert ipaddress.ip_address(ip) in subnet
        ping = subprocess.run([BUSYBOX, "ping", "-c1", "-W3", ip], capture_output=True, text=True)
        assert ping.returncode == 0, ping.stdout
        rt.ok("replay", "--check")
        subnets.append(subnet)
    assert not subnets[0].overlaps(subnets[1])
    for rt in (md, md2):
        rt.ok("rm", "-f", "web")


def test_prune_orphans_removes_what_a_deleted_root_left_and_nothing_else(md, md2):
    md.ok("network", "create", "--subnet", free_subnet(), "side")
    md.ok("run", "-d", "--name", "web", "-p", f"{free_host_port()}:80", "busybox", "httpd", "-f", "-p", "80")
    md.ok("run", "-d", "--name", "side1", "--network", "side", "busybox", "top")
    md.ok("run", "--name", "done", "busybox", "true")
    md2.ok("run", "-d", "--name", "alive", "busybox", "top")
    live = _tagged(md2.tag)
    left = _tagged(md.tag)
    assert any(x.startswith("cgroup") for x in left) and any(x.startswith("link") for x in left)

    shutil.rmtree(md.root)  # the user deletes the root's directory; its containers still run
    only_it = ("--filter", f"root={md.root}")
    r = md2("system", "check", "--orphans", *only_it)
    assert r.code == 1, r.err
    orphans = [line.split()[1] for line in r.out.splitlines() if line.startswith("orphan: ")]
    assert set(orphans) == {"process", "cgroup", "veth", "rule", "bridge"}, r.out
    assert orphans.count("process") == 2 and orphans.count("bridge") == 2, "two monitors, two networks"
    assert f"mydocker@{md2.tag}" not in r.out

    r = md2("system", "prune", "--orphans", *only_it, input="n\n")
    assert r.code == 0 and "Are you sure you want to continue? [y/N]" in r.out
    assert _tagged(md.tag) == left, "not confirmed: nothing removed"

    md2.ok("system", "prune", "--orphans", "-f", *only_it)
    assert _tagged(md.tag) == []
    assert roottags.processes_of(str(md.root)) == []
    assert not md.root.exists(), "no monitor lived on to re-create the root"
    assert md.tag not in [p.name for p in roottags.REGISTRY.iterdir()] or str(md.root) not in roottags.roots_of(md.tag)
    assert "nothing left behind" in md2.ok("system", "check", "--orphans", *only_it)

    assert _tagged(md2.tag) == live, "the live root's objects are untouched"
    assert md2.inspect("alive")["State"]["Running"] is True
    md2.ok("rm", "-f", "alive")


def test_orphans_of_a_live_root_are_not_orphans(md, md2):
    md.ok("run", "-d", "--name", "web", "busybox", "top")
    r = md2("system", "prune", "--orphans", "-f", "--filter", f"root={md.root}")
    assert r.code == 0 and "nothing left behind" in r.out
    assert md.inspect("web")["State"]["Running"] is True
    assert md2("system", "check", "--orphans", "--filter", "root").code == 1, "a filter needs a value"
    md.ok("rm", "-f", "web")


def test_system_reset_removes_the_root_and_everything_it_made(md, md2):
    md.ok("network", "create", "--subnet", free_subnet(), "side")
    md.ok("volume", "create", "data")
    md.ok("run", "-d", "--name", "web", "-p", f"{free_host_port()}:80", "-v", "data:/data",
          "busybox", "httpd", "-f", "-p", "80")
    md.ok("run", "-d", "--name", "side1", "--network", "side", "busybox", "top")
    md2.ok("run", "-d", "--name", "alive", "busybox", "top")
    live = _tagged(md2.tag)

    r = md("system", "reset", input="n\n")
    assert r.code == 0 and r.out.startswith("WARNING! This will remove:")
    assert len(md.ok("ps", "-q").split()) == 2, "not confirmed: nothing removed"

    r = md("system", "reset", input="y\n")
    assert r.code == 0, r.err
    assert "removed state root" in r.out
    assert not md.root.exists()
    assert _tagged(md.tag) == []
    assert str(md.root) not in roottags.roots_of(md.tag)
    assert _tagged(md2.tag) == live
    assert md2.inspect("alive")["State"]["Running"] is True
    md2.ok("rm", "-f", "alive")


def test_a_root_made_anew_at_a_deleted_roots_path_prunes_what_the_old_one_left(md):
    md.ok("network", "create", "--subnet", free_subnet(), "old")
    md.ok("run", "--name", "done", "busybox", "true")  # the default network too
    left = _tagged(md.tag)
    assert len([x for x in left if x.startswith("link")]) == 2
    shutil.rmtree(md.root)
    # asking about orphans does not make the deleted root anew (which would hide them)
    assert md("system", "check", "--orphans").code == 1 and not md.root.exists()

    md.ok("images")  # the root made anew: a new log that knows none of the old ids
    r = md("system", "check")
    assert r.code == 1
    leaked = [line for line in r.out.splitlines() if line.startswith("leaked: ")]
    assert len(leaked) == len(left) - len([x for x in left if x.startswith("cgroup")]), r.out
    md.ok("system", "check", "--fix")
    assert _tagged(md.tag) == []
    assert md.ok("system", "check").strip().endswith("the log and the kernel agree")


def test_a_bridge_gone_with_a_reboot_is_made_anew_unless_its_subnet_was_taken(md):
    md.ok("run", "--rm", "busybox", "true")
    bridge, rules = md.bridge, _tagged(md.tag)
    net = ipaddress.ip_network(md.default_subnet)
    with network._iproute() as ipr:  # what a reboot does to it
        ipr.link("del", index=ipr.link_lookup(ifname=bridge)[0])
    iptables.remove([iptables.parse_listed(line.removeprefix("rule ")) for line in rules if line.startswith("rule ")])
    dummy = f"tdum{secrets.token_hex(4)}"
    with network._iproute() as ipr:  # meanwhile something else took the subnet
        ipr.link("add", ifname=dummy, kind="bridge")  # no dummy module here
        ipr.addr("add", index=ipr.link_lookup(ifname=dummy)[0], address=str(net[200]), prefixlen=net.prefixlen)
    try:
        r = md("run", "--rm", "busybox", "true")
        assert r.code == 125 and f"overlaps {net}" in r.err and dummy in r.err, r.err
        assert _tagged(md.tag) == [], "nothing built on a taken subnet"
    finally:
        with network._iproute() as ipr:
            ipr.link("del", index=ipr.link_lookup(ifname=dummy)[0])
    out = md.ok("run", "--rm", "busybox", "sh", "-c", f"ping -c1 -W3 {net[1]}")
    assert "1 packets received" in out
    assert _tagged(md.tag) == rules, "the bridge and its rules, as the log recorded them"
