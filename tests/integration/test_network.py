"""Bridge networks, IPAM, veths and port mapping on the real kernel.

All traffic stays on this machine: between the host, containers and network
namespaces these tests make, on subnets they picked (conftest.free_subnet).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest import free_host_port, free_subnet

BUSYBOX = "/bin/busybox"


def _ip(md, ref: str) -> str:
    return md.inspect(ref)["NetworkSettings"]["IPAddress"]


def _links() -> set[str]:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        return {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}




def test_two_containers_on_one_network_ping_each_other(md):
    subnet = free_subnet()
    net = ipaddress.ip_network(subnet)
    netid = md.ok("network", "create", "--driver", "bridge", "--subnet", subnet, "pingnet").strip()
    assert "pingnet" in md.ok("network", "ls")
    info = json.loads(md.ok("network", "inspect", "pingnet"))[0]
    assert info["Id"] == netid and info["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": str(net[1])}]
    bridge = info["Options"]["com.docker.network.bridge.name"]
    assert bridge.startswith("mdbr-") and bridge in _links()

    cid = md.ok("run", "-d", "--name", "pinga", "--net", "pingnet", "busybox", "top").strip()
    settings = md.inspect("pinga")["NetworkSettings"]
    assert settings["IPAddress"] == str(net[2]), "the first address after the gateway"
    assert settings["Gateway"] == str(net[1]) and settings["IPPrefixLen"] == 24
    assert settings["MacAddress"] == "02:42:" + ":".join(f"{b:02x}" for b in net[2].packed)
    assert settings["Networks"]["pingnet"]["NetworkID"] == netid
    veth = f"md-{cid[:12]}"
    assert veth in _links()
    members = json.loads(md.ok("network", "inspect", "pingnet"))[0]["Containers"]
    assert members[cid]["IPv4Address"] == f"{net[2]}/24" and members[cid]["Name"] == "pinga"

    out = md.ok("run", "--rm", "--name", "pingb", "--network", "pingnet", "busybox", "sh", "-c",
                f"ping -c1 -W3 {net[2]} && ip -o -4 addr show eth0 && ip route && cat /etc/hosts /etc/hostname")
    assert "1 packets received" in out
    assert f"inet {net[3]}/24" in out
    assert f"default via {net[1]} dev eth0" in out
    assert f"{net[3]}\t" in out and "pingb" in out, "/etc/hosts names the container"
    # and back: the first container reaches the second's gateway and the host can reach it
    r = subprocess.run([BUSYBOX, "ping", "-c1", "-W3", str(net[2])], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    assert md("network", "rm", "pingnet").code == 1, "refused while a container is attached"
    md.ok("rm", "-f", "pinga")
    assert veth not in _links()
    md.ok("network", "rm", "pingnet")
    assert bridge not in _links()
    assert md.ok("replay", "--check").strip() == "projections match the log"


def test_containers_on_different_networks_cannot_reach_each_other(md):
    s1, s2 = free_subnet(), free_subnet()
    md.ok("network", "create", "--subnet", s1, "isoone")
    md.ok("network", "create", "--subnet", s2, "isotwo")
    md.ok("run", "-d", "--name", "iso1", "--net", "isoone", "busybox", "top")
    target = _ip(md, "iso1")
    try:
        r = md("run", "--rm", "--net", "isotwo", "busybox", "ping", "-c1", "-W1", target)
        assert r.code == 1 and "0 packets received" in r.out
        same = md("run", "--rm", "--net", "isoone", "busybox", "ping", "-c1", "-W3", target)
        assert same.code == 0, "the same network still works: the DROP is the isolation"
    finally:
        md.ok("rm", "-f", "iso1")
        md.ok("network", "rm", "isoone", "isotwo")


@pytest.fixture
def client_netns():
    """A network namespace with a veth to the host, on a subnet the test picked."""
    subnet = ipaddress.ip_network(free_subnet())
    tag = secrets.token_hex(3)
    ns, host_end = f"mdtest-{tag}", f"mdt-{tag}h"
    host_ip, client_ip = str(subnet[1]), str(subnet[2])
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True)  # noqa: E731
    run("ip", "netns", "add", ns)
    try:
        run("ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run("ip", "addr", "add", f"{host_ip}/24", "dev", host_end)
        run("ip", "link", "set", host_end, "up")
        run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{client_ip}/24", "dev", "eth0")
        run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
        run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield ns, host_ip
    finally:
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _wget(url: str, netns: str | None = None, tries: int = 30) -> str:
    """GET url from the host or from inside netns (Python's client: the host's
    static busybox wget cannot resolve its own NSS and crashes)."""
    prefix = ["nsenter", f"--net=/var/run/netns/{netns}"] if netns else []
    script = f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=3).read().decode(), end='')"
    for _ in range(tries):
        r = subprocess.run([*prefix, sys.executable, "-c", script], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout
        time.sleep(0.2)  # httpd may still be starting
    raise AssertionError(f"GET {url} failed: {r.stderr}")


def test_port_mapping_serves_httpd_to_another_netns_and_to_the_host(md, client_netns):
    ns, host_ip = client_netns
    subnet = free_subnet()
    port = free_host_port()
    md.ok("network", "create", "--subnet", subnet, "webnet")
    page = "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www"
    cid = md.ok("run", "-d", "--name", "web", "--net", "webnet", "-p", f"{port}:80", "busybox", "sh", "-c",
                page).strip()
    try:
        assert f"0.0.0.0:{port}->80/tcp" in md.ok("ps")
        ports = md.inspect("web")["NetworkSettings"]["Ports"]
        assert ports == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}
        # from another network namespace, through the host's address on its link
        assert _wget(f"http://{host_ip}:{port}/", netns=ns) == "hello-from-web\n"
        # from the host itself: to its own address, and to localhost
        assert _wget(f"http://{host_ip}:{port}/") == "hello-from-web\n"
        assert _wget(f"http://127.0.0.1:{port}/") == "hello-from-web\n"
        # hairpin: a container on the same network through the published port
        out = md.ok("run", "--rm", "--net", "webnet", "busybox", "sh", "-c",
                    f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host_ip} {port}")
        assert "200 OK" in out and out.endswith("hello-from-web\n")

        # a second container cannot take the same host port; nothing is created
        before = md.ok("ps", "-aq")
        r = md("run", "-d", "--name", "web2", "--net", "webnet", "-p", f"{port}:8080", "busybox", "top")
        assert r.code == 125 and r.err.startswith("Error: Bind for 0.0.0.0:") and "already allocated" in r.err
        assert len(r.err.strip().splitlines()) == 1
        assert md.ok("ps", "-aq") == before
    finally:
        md.ok("rm", "-f", cid)
    from mydocker.core import iptables

    assert not [rule for rule in iptables.list_rules() if f"--dport {port} " in rule], "DNAT removed with the container"
    md.ok("network", "rm", "webnet")


def test_ips_are_released_and_reused_after_rm(md):
    subnet = free_subnet()
    net = ipaddress.ip_network(subnet)
    md.ok("network", "create", "--subnet", subnet, "--gateway", str(net[254]), "reuse")
    first = md.ok("run", "-d", "--name", "r1", "--net", "reuse", "busybox", "top").strip()
    assert _ip(md, "r1") == str(net[1]), "the gateway moved to .254: .1 is free to hand out"
    md.ok("run", "-d", "--name", "r2", "--net", "reuse", "busybox", "top")
    assert _ip(md, "r2") == str(net[2])
    md.ok("rm", "-f", "r1")
    md.ok("run", "-d", "--name", "r3", "--net", "reuse", "busybox", "top")
    assert _ip(md, "r3") == str(net[1]), "r1's address came back"
    # a fixed address, and one that is taken
    md.ok("run", "-d", "--name", "r4", "--net", "reuse", "--ip", str(net[100]), "busybox", "top")
    assert _ip(md, "r4") == str(net[100])
    r = md("run", "-d", "--name", "r5", "--net", "reuse", "--ip", str(net[100]), "busybox", "top")
    assert r.code == 125 and "already in use" in r.err
    assert md("run", "--rm", "--net", "reuse", "--ip", str(net[254]), "busybox", "true").code == 125
    assert md("run", "--rm", "--net", "reuse", "--ip", "10.0.0.1", "busybox", "true").code == 125
    # stop releases the address and the veth; start gets them again
    md.ok("stop", "-t", "1", "r2")
    assert f"md-{md.inspect('r2')['Id'][:12]}" not in _links()
    assert md.inspect("r2")["NetworkSettings"]["IPAddress"] == ""
    with md.db() as conn:
        rows = conn.execute("SELECT address, container_id FROM ip_allocations WHERE network = 'reuse'").fetchall()
    assert sorted(a for a, _ in rows) == sorted([str(net[1]), str(net[100])])
    assert first not in {c for _, c in rows}
    md.ok("start", "r2")
    assert _ip(md, "r2") == str(net[2])
    assert md.ok("replay", "--check").strip() == "projections match the log"
    md.ok("rm", "-f", "r2", "r3", "r4")
    md.ok("network", "rm", "reuse")


def test_parallel_runs_on_one_network_never_share_an_ip(md):
    subnet = free_subnet()
    md.ok("network", "create", "--subnet", subnet, "crowd")
    names = [f"par{i}" for i in range(8)]
    with ThreadPoolExecutor(len(names)) as pool:
        results = list(pool.map(lambda n: md("run", "-d", "--name", n, "--net", "crowd", "busybox", "top"), names))
    try:
        assert all(r.code == 0 for r in results), [r.err for r in results]
        ips = [_ip(md, n) for n in names]
        assert len(set(ips)) == len(ips) and all(ip for ip in ips)
        with md.db() as conn:
            allocated = [r[0] for r in conn.execute("SELECT payload FROM events WHERE type = 'allocate'")]
        assert len({json.loads(p)["ip"] for p in allocated}) == len(allocated) == len(names)
    finally:
        md.ok("rm", "-f", *names)
    md.ok("network", "rm", "crowd")


def test_exhausted_network_gives_a_clear_error(md):
    md.ok("network", "create", "--subnet", free_subnet().replace(".0/24", ".0/30"), "tiny")
    md.ok("run", "-d", "--name", "only", "--net", "tiny", "busybox", "top")  # .2: the one host after the gateway
    r = md("run", "-d", "--name", "more", "--net", "tiny", "busybox", "top")
    assert r.code == 125 and "no available IPv4 addresses on network tiny" in r.err
    assert "more" not in md.ok("ps", "-a"), "a run that could not start leaves nothing"
    md.ok("rm", "-f", "only")
    md.ok("network", "rm", "tiny")


def test_bad_network_input_changes_nothing(md):
    subnet = free_subnet()
    for args, words in [
        (["network", "create", "--subnet", "10.213.0.0/33", "bad1"], "invalid subnet"),
        (["network", "create", "--subnet", "nonsense", "bad2"], "invalid subnet"),
        (["network", "create", "--subnet", subnet, "--gateway", "1.2.3.4", "bad3"], "invalid gateway"),
        (["network", "create", "--subnet", "127.0.0.0/24", "bad4"], "invalid subnet"),
        (["network", "create", "--driver", "overlay", "bad5"], "not found"),
        (["network", "create", "host"], "already exists"),
        (["network", "rm", "nope"], "No such network: nope"),  # docker CLI's words
        (["network", "inspect", "nope"], "No such network: nope"),
        (["network", "rm", "bridge"], "pre-defined"),
    ]:
        r = md(*args)
        assert r.code == 1 and r.err.startswith("Error: ") and words in r.err, (args, r.err)
        assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    md.ok("network", "create", "--subnet", subnet, "first")
    r = md("network", "create", "--subnet", subnet, "second")
    assert r.code == 1 and "overlaps" in r.err, "overlapping subnets are refused"
    assert md("network", "create", "--subnet", free_subnet(), "first").code == 1, "names are unique"
    for args in (["--net", "nosuchnet"], ["-p", "80x"], ["-p", "x:80"], ["-p", "8080:80/sctp"], ["--ip", "nope"]):
        r = md("run", "--rm", *args, "busybox", "true")
        assert r.code == 125 and r.err.startswith("Error: ") and len(r.err.strip().splitlines()) == 1, (args, r.err)
    assert md.ok("ps", "-aq") == ""
    md.ok("network", "rm", "first")


def test_none_and_host_networks(md):
    out = md.ok("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
    assert [line.split(":")[1].strip() for line in out.splitlines()] == ["lo"]
    host = md.ok("run", "--rm", "--network", "host", "busybox", "ip", "-o", "link")
    names = {line.split(":")[1].strip().split("@")[0] for line in host.splitlines()}
    host_links = _links()
    assert "lo" in names and len(names & host_links - {"lo"}) >= 1, "the host's own interfaces"


def test_default_bridge_network(md):
    """No --network: the `bridge` network, made on first use with its own bridge."""
    net = ipaddress.ip_network(md.default_subnet)
    out = md.ok("run", "--rm", "--name", "dflt", "busybox", "sh", "-c",
                f"ip -o -4 addr show eth0; ping -c1 -W3 {net[1]}; cat /etc/resolv.conf")
    assert f"inet {net[2]}/24" in out and "1 packets received" in out
    assert "nameserver" in out and "nameserver 127." not in out
    assert md.bridge == f"mydocker-{md.tag}", "named after the root's tag"
    assert md.bridge in _links()
    info = json.loads(md.ok("network", "inspect", "bridge"))[0]
    assert info["IPAM"]["Config"][0]["Subnet"] == md.default_subnet
    assert info["Options"]["com.docker.network.bridge.name"] == md.bridge
    alias = open(f"/sys/class/net/{md.bridge}/ifalias").read().strip()
    assert alias == f"mydocker@{md.tag}:{info['Id']}"
