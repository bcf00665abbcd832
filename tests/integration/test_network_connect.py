"""network connect / disconnect on the real kernel: hot-plugged into a running
container's netns, recorded for a created or stopped one and applied at start.

All traffic stays between containers this test made, on subnets it picked."""

from __future__ import annotations

import ipaddress
import json

from tests.integration.conftest import free_subnet


def _addresses(md, name: str) -> list[str]:
    out = md.ok("exec", name, "ip", "-o", "-4", "addr", "show")
    return [line.split()[3] for line in out.splitlines() if " lo " not in line]


def test_connect_and_disconnect_a_running_container(md):
    subnet = free_subnet()
    md.ok("network", "create", "--subnet", subnet, "--label", "tier=front", "hot")
    md.ok("run", "-d", "--name", "plug", "busybox", "sleep", "1000")
    md.ok("run", "-d", "--name", "peer", "--network", "hot", "busybox", "sleep", "1000")
    try:
        md.ok("network", "disconnect", "bridge", "plug")
        assert _addresses(md, "plug") == []

        md.ok("network", "connect", "--alias", "web", "hot", "plug")
        [address] = _addresses(md, "plug")
        assert ipaddress.ip_interface(address) in ipaddress.ip_network(subnet)
        for name in ("plug", "web"):  # the peer's /etc/hosts was rewritten: name and alias resolve
            md.ok("exec", "peer", "ping", "-c", "1", "-W", "2", name)
        settings = md.inspect("plug")["NetworkSettings"]["Networks"]["hot"]
        assert "web" in settings["Aliases"] and settings["IPAddress"] == address.split("/")[0]
        members = json.loads(md.ok("network", "inspect", "hot"))[0]["Containers"]
        assert {m["Name"] for m in members.values()} == {"plug", "peer"}

        again = md("network", "connect", "hot", "plug")
        assert again.code == 1 and again.err.strip() == "Error: endpoint with name plug already exists in network hot"

        md.ok("network", "disconnect", "hot", "plug")
        assert _addresses(md, "plug") == []
        assert "web" not in md.ok("exec", "peer", "cat", "/etc/hosts")
        twice = md("network", "disconnect", "hot", "plug")
        assert twice.code == 1 and "is not connected to network hot" in twice.err

        types = md.events(md.inspect("plug")["Id"])
        assert types.count("network_connect") == 1 and types.count("network_disconnect") == 2
    finally:
        md.ok("rm", "-f", "plug", "peer")
        md.ok("network", "rm", "hot")
    assert md("replay", "--check").code == 0


def test_connect_a_created_container_applies_at_start_and_bad_input_changes_nothing(md):
    subnet = ipaddress.ip_network(free_subnet())
    fixed = str(subnet[77])
    md.ok("network", "create", "--subnet", str(subnet), "later")
    md.ok("create", "--name", "idle", "busybox", "sleep", "1000")
    md.ok("create", "--name", "private", "--network", "none", "busybox", "true")
    try:
        for args, words in [
            (("connect", "nope", "idle"), "Error: network nope not found"),
            (("connect", "later", "ghost"), "Error: No such container: ghost"),
            (("connect", "host", "idle"), "Error: container cannot be disconnected from host network or "
                                          "connected to host network"),
            (("connect", "later", "private"), "Error: container cannot be connected to multiple networks with one "
                                              "of the networks in private (none) mode"),
            (("disconnect", "later", "idle"), "is not connected to network later"),
        ]:
            result = md("network", *args)
            assert result.code == 1 and words in result.err, (args, result.err)
        before = md.events(md.inspect("idle")["Id"])

        md.ok("network", "disconnect", "bridge", "idle")
        md.ok("network", "connect", "--ip", fixed, "later", "idle")
        assert md.events(md.inspect("idle")["Id"]) == [*before, "network_disconnect", "network_connect"]
        assert md.inspect("idle")["HostConfig"]["NetworkMode"] == "later"
        md.ok("start", "idle")
        assert _addresses(md, "idle") == [f"{fixed}/{subnet.prefixlen}"]
        md.ok("stop", "-t", "1", "idle")
        md.ok("start", "idle")  # again, from stopped: the same network
        assert _addresses(md, "idle") == [f"{fixed}/{subnet.prefixlen}"]
    finally:
        md.ok("rm", "-f", "idle", "private")
        md.ok("network", "rm", "later")
    assert md("replay", "--check").code == 0
