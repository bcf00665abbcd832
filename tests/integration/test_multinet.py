"""Containers on several networks (docker's way): the first network is eth0 with
the default route, each one connected besides is the next ethN with only its
own subnet's route, unless its name sorts first (docker 20.10 gives the default
route and the published ports to the network whose name sorts first, and a start
joins them in that order); names resolve on each; every endpoint goes at teardown.

All traffic stays between containers this test made, on subnets it picked."""

from __future__ import annotations

import ipaddress
import json

import pytest

from tests.integration.conftest import free_host_port, free_subnet


def _interfaces(md, name: str) -> dict[str, str]:
    """ifname -> address/prefix inside the container."""
    out = md.ok("exec", name, "ip", "-o", "-4", "addr", "show")
    return {line.split()[1]: line.split()[3] for line in out.splitlines() if " lo " not in line}


def _routes(md, name: str) -> list[str]:
    return [" ".join(line.split()) for line in md.ok("exec", name, "ip", "route").splitlines()]


def _dnat(port: int) -> list[str]:
    """Where the host's nat rules send port (any root's: the port is this test's)."""
    import subprocess

    out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
    return [line.split("--to-destination ")[1] for line in out.splitlines()
            if f"--dport {port} " in line and "DNAT" in line]


@pytest.fixture(scope="module")
def nets():
    return ipaddress.ip_network(free_subnet()), ipaddress.ip_network(free_subnet())


def test_second_network_hot_plugged_resolved_and_released(md, nets):
    front, back = nets
    md.ok("network", "create", "--subnet", str(front), "mnfront")
    md.ok("network", "create", "--subnet", str(back), "mnback")
    port = free_host_port()
    md.ok("run", "-d", "--name", "app", "--network", "mnfront", "-p", f"{port}:80", "busybox", "sleep", "1000")
    md.ok("run", "-d", "--name", "fpeer", "--network", "mnfront", "busybox", "sleep", "1000")
    md.ok("run", "-d", "--name", "bpeer", "--network", "mnback", "busybox", "sleep", "1000")
    try:
        md.ok("network", "connect", "--alias", "api", "mnback", "app")
        found = _interfaces(md, "app")
        assert set(found) == {"eth0", "eth1"}
        assert ipaddress.ip_interface(found["eth0"]) in front and ipaddress.ip_interface(found["eth1"]) in back
        routes = _routes(md, "app")
        # mnback sorts before mnfront: the default route and the published port move to it, as docker's
        assert [r for r in routes if r.startswith("default")] == [f"default via {back[1]} dev eth1"]
        assert any(r.startswith(f"{back} dev eth1") for r in routes)
        assert _dnat(port) == [f"{found['eth1'].split('/')[0]}:80"]
        assert md.ok("port", "app") == f"80/tcp -> 0.0.0.0:{port}\n"

        # names resolve on each network, both ways, with the alias given on that network
        md.ok("exec", "app", "ping", "-c", "1", "-W", "2", "fpeer")
        md.ok("exec", "app", "ping", "-c", "1", "-W", "2", "bpeer")
        md.ok("exec", "bpeer", "ping", "-c", "1", "-W", "2", "app")
        md.ok("exec", "bpeer", "ping", "-c", "1", "-W", "2", "api")
        assert "api" not in md.ok("exec", "fpeer", "cat", "/etc/hosts")

        networks = md.inspect("app")["NetworkSettings"]["Networks"]
        assert set(networks) == {"mnfront", "mnback"}
        assert networks["mnback"]["IPAddress"] == found["eth1"].split("/")[0]
        assert networks["mnback"]["Gateway"] == str(back[1]) and "api" in networks["mnback"]["Aliases"]
        assert networks["mnfront"]["MacAddress"] and networks["mnback"]["MacAddress"]
        for net_name in ("mnfront", "mnback"):
            members = json.loads(md.ok("network", "inspect", net_name))[0]["Containers"]
            assert "app" in {m["Name"] for m in members.values()}
        assert sorted(md.ok("ps", "--filter", "network=mnback", "--format", "{{.Names}}").split()) == ["app", "bpeer"]
        assert md.ok("ps", "--filter", "name=app", "--format", "{{.Networks}}").strip() == "mnback,mnfront"
        refused = md("network", "rm", "mnback")
        assert refused.code == 1 and "has active endpoints" in refused.err

        # stop and start: both come back, in docker's order (by name: mnback is eth0 now)
        md.ok("stop", "-t", "1", "app")
        md.ok("start", "app")
        again = _interfaces(md, "app")
        assert set(again) == {"eth0", "eth1"} and ipaddress.ip_interface(again["eth0"]) in back
        assert _dnat(port) == [f"{again['eth0'].split('/')[0]}:80"]

        # disconnect mnback: eth0 goes, mnfront's eth1 takes the default route and the port back
        md.ok("network", "disconnect", "mnback", "app")
        assert set(_interfaces(md, "app")) == {"eth1"}
        assert [r for r in _routes(md, "app") if r.startswith("default")] == [f"default via {front[1]} dev eth1"]
        assert _dnat(port) == [f"{again['eth1'].split('/')[0]}:80"]
        assert "app" not in md.ok("exec", "bpeer", "cat", "/etc/hosts")
        assert set(md.inspect("app")["NetworkSettings"]["Networks"]) == {"mnfront"}
        md.ok("exec", "app", "ping", "-c", "1", "-W", "2", "fpeer")
    finally:
        md.ok("rm", "-f", "app", "fpeer", "bpeer")
        md.ok("network", "rm", "mnfront", "mnback")
    assert md("replay", "--check").code == 0
    assert md("system", "check").code == 0


def test_created_container_gets_every_network_at_start_and_rm_releases_them(md, nets):
    front, back = nets
    md.ok("network", "create", "--subnet", str(front), "mnfront")
    md.ok("network", "create", "--subnet", str(back), "mnback")
    md.ok("create", "--name", "two", "--network", "mnfront", "busybox", "sleep", "1000")
    try:
        md.ok("network", "connect", "mnback", "two")
        md.ok("network", "connect", "bridge", "two")  # a third, the default one
        md.ok("start", "two")
        found = _interfaces(md, "two")
        assert set(found) == {"eth0", "eth1", "eth2"}
        # joined in docker's order, by name: bridge, mnback, mnfront; the first has the default route
        assert ipaddress.ip_interface(found["eth0"]) in ipaddress.ip_network(md.default_subnet)
        assert ipaddress.ip_interface(found["eth1"]) in back and ipaddress.ip_interface(found["eth2"]) in front
        assert [r for r in _routes(md, "two") if r.startswith("default")][0].endswith("dev eth0")
        # the first network leaves: the others stay, the one whose name sorts first (docker's
        # next gateway network) is the first now
        md.ok("network", "disconnect", "bridge", "two")
        assert set(_interfaces(md, "two")) == {"eth1", "eth2"}
        assert md.inspect("two")["HostConfig"]["NetworkMode"] == "mnback"
        assert [r for r in _routes(md, "two") if r.startswith("default")] == [f"default via {back[1]} dev eth1"]
        md.ok("rm", "-f", "two")
        db = md.db()
        left = db.execute("SELECT name, allocations FROM networks").fetchall()
        assert all(json.loads(row[1]) == {} for row in left), left
    finally:
        md("rm", "-f", "two")
        md.ok("network", "rm", "mnfront", "mnback")
    assert md("replay", "--check").code == 0


def test_run_with_two_networks_is_refused_as_docker_does(md, nets):
    front, back = nets
    md.ok("network", "create", "--subnet", str(front), "mnfront")
    md.ok("network", "create", "--subnet", str(back), "mnback")
    try:
        two = md("run", "--rm", "--network", "mnfront", "--network", "mnback", "busybox", "true")
        assert two.code == 125
        assert "Container cannot be connected to network endpoints: mnfront, mnback" in two.err
        mixed = md("run", "--rm", "--network", "host", "--network", "mnback", "busybox", "true")
        assert mixed.code == 125
        assert "conflicting options: cannot attach both user-defined and non-user-defined network-modes" in mixed.err
        assert md.ok("ps", "-aq") == ""
    finally:
        md.ok("network", "rm", "mnfront", "mnback")


def test_mac_address_link_and_ip6(md, nets):
    front, _back = nets
    md.ok("network", "create", "--subnet", str(front), "mnfront")
    md.ok("run", "-d", "--name", "target", "busybox", "sleep", "1000")
    md.ok("run", "-d", "--name", "utarget", "--network", "mnfront", "busybox", "sleep", "1000")
    try:
        mac = "02:42:ac:11:00:99"
        out = md.ok("run", "--rm", "--mac-address", mac.upper(), "--link", "target:db", "busybox",
                    "sh", "-c", "cat /sys/class/net/eth0/address; cat /etc/hosts")
        lines = out.splitlines()
        assert lines[0] == mac
        target_ip = md.inspect("target")["NetworkSettings"]["IPAddress"]
        short = md.inspect("target")["Id"][:12]
        # docker's line for a link on the default bridge: address, alias, short id, name
        assert f"{target_ip}\tdb {short} target" in lines
        md.ok("run", "--rm", "--link", "target", "busybox", "ping", "-c", "1", "-W", "2", "target")
        # on a user network a link is an alias the linking container resolves
        md.ok("run", "--rm", "--network", "mnfront", "--link", "utarget:cache", "busybox",
              "ping", "-c", "1", "-W", "2", "cache")

        md.ok("create", "--name", "withmac", "--mac-address", mac, "--link", "target:db", "busybox", "true")
        seen = md.inspect("withmac")
        assert seen["Config"]["MacAddress"] == mac and seen["HostConfig"]["Links"] == ["/target:/withmac/db"]
        md.ok("rm", "withmac")

        for args, words in [
            (("--mac-address", "zz"), "zz is not a valid mac address"),
            (("--mac-address", mac, "--network", "host"), "conflicting options: mac-address and the network mode"),
            (("--link", "bad::x"), "bad format for links: bad::x"),
            (("--link", "ghost:g"), "could not get container for ghost: No such container: ghost"),
            (("--link", "utarget:u"), "Cannot link to /utarget, as it does not belong to the default network"),
            (("--network", "none", "--link", "target"), "links are only supported for user-defined networks"),
            (("--ip6", "zz"), "invalid IPv6 address: zz"),
            (("--network", "mnfront", "--ip6", "fd00::5"), "user specified IP address is supported only when "
                                                            "connecting to networks with user configured subnets"),
        ]:
            result = md("run", "--rm", *args, "busybox", "true")
            assert result.code == 125 and words in result.err, (args, result.err)
        assert sorted(md.ok("ps", "-a", "--format", "{{.Names}}").split()) == ["target", "utarget"]
    finally:
        md.ok("rm", "-f", "target", "utarget")
        md.ok("network", "rm", "mnfront")


def test_system_check_finds_a_leaked_second_network_veth(md, nets):
    """What a crash halfway through a teardown would leave of a second network's
    endpoint (md-<10 hex>.1, tagged with its container): check names it, prune removes it."""
    import subprocess

    from mydocker.core import roottags
    from mydocker.core.network import alias_for

    _front, back = nets
    netid = md.ok("network", "create", "--subnet", str(back), "mnback").strip()
    cid = md.ok("create", "--name", "gone", "busybox", "true").strip()
    md.ok("network", "connect", "mnback", "gone")
    md.ok("start", "-a", "gone")
    veth = f"md-{cid[:10]}.1"
    try:
        assert md.ok("system", "check").strip().endswith("the log and the kernel agree")
        subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", f"mdq{cid[:8]}"], check=True)
        subprocess.run(["ip", "link", "set", "dev", veth, "alias", alias_for(roottags.tag_of(md.root), netid, cid)],
                       check=True)
        r = md("system", "check")
        assert r.code == 1 and f"leaked: veth {veth}" in r.out, r.out
        md.ok("system", "check", "--fix")
        assert veth not in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    finally:
        subprocess.run(["ip", "link", "del", veth], capture_output=True)
        md.ok("rm", "gone")
        md.ok("network", "rm", "mnback")
