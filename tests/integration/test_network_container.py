"""--network container:X on the real kernel, as docker 20.10 does it: the joiner
lives in X's netns (X's eth0 address, X's listeners on 127.0.0.1, X's /etc files
and hostname), docker's flags and words are refused, and neither the joiner's stop
nor its rm touches X's interfaces, address or DNS server. Traffic stays between
this module's containers, on the subnet it assigned.

One service and root for the module (the docker CLI's case rides along)."""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.api_service import DOCKER_CLI, serve_api
from tests.integration.conftest import free_subnet

NET = "ncnet"
SERVE = "mkdir /www && echo hi-from-web > /www/i && exec httpd -f -p 8080 -h /www"
FETCH = "wget -qO- 127.0.0.1:8080/i"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    for service in serve_api(tmp_path_factory, "netcont"):
        rt = service.rt
        rt.ok("network", "create", "--subnet", free_subnet(), NET)
        try:
            rt.ok("run", "-d", "--name", "web", "--network", NET, "busybox", "sh", "-c", SERVE)
            yield service
        finally:
            for cid in rt.ok("ps", "-aq", "--no-trunc").split():
                rt("rm", "-f", cid)
            rt("network", "rm", NET)


def _ip(rt, name: str) -> str:
    return rt.inspect(name)["NetworkSettings"]["Networks"][NET]["IPAddress"]


def _addresses(rt, name: str) -> str:
    return rt.ok("exec", name, "ip", "-4", "-o", "addr")


def test_the_joiner_lives_in_x_netns(api) -> None:
    rt = api.rt
    web = rt.inspect("web")
    out = rt.ok("run", "--rm", "--network", "container:web", "busybox", "sh", "-c",
                f"ip -4 -o addr show eth0; hostname; {FETCH}; echo ==; cat /etc/hosts; echo ==; cat /etc/resolv.conf")
    addr, hosts, resolv = out.split("==\n")
    assert f"inet {_ip(rt, 'web')}/" in addr
    assert addr.split("\n")[1] == web["Config"]["Hostname"]  # X's name, as docker gives it
    assert "hi-from-web" in addr  # X's listener, through the shared 127.0.0.1
    assert hosts == rt.ok("exec", "web", "cat", "/etc/hosts")
    assert resolv == rt.ok("exec", "web", "cat", "/etc/resolv.conf")


def test_inspect_ps_and_what_stays_of_x(api) -> None:
    rt = api.rt
    web = rt.inspect("web")
    veth = f"md-{web['Id'][:12]}"
    before = _addresses(rt, "web")
    rt.ok("run", "-d", "--name", "side", "--network", "container:web", "busybox", "sleep", "1000")
    side = rt.inspect("side")
    assert side["HostConfig"]["NetworkMode"] == f"container:{web['Id']}"
    assert side["NetworkSettings"]["Networks"] == {} and side["NetworkSettings"]["Ports"] == {}
    assert side["NetworkSettings"]["IPAddress"] == ""
    assert side["HostsPath"] == web["HostsPath"] and side["ResolvConfPath"] == web["ResolvConfPath"]
    assert rt.ok("ps", "--filter", "name=side", "--format", "[{{.Ports}}] [{{.Networks}}]").strip() == "[] []"
    assert rt.ok("exec", "side", "sh", "-c", FETCH) == "hi-from-web\n"
    plugged = rt("network", "connect", NET, "side")  # not into X's netns
    assert (plugged.code, plugged.err.strip()) == (1, "Error: container sharing network namespace with another "
                                                      "container or host cannot be connected to any other network")
    check = rt("system", "check")
    assert check.code == 0, check.out + check.err
    rt.ok("stop", "-t", "0", "side")
    rt.ok("rm", "side")
    # the joiner's stop and rm left X's address, its veth and its DNS server alone
    assert _addresses(rt, "web") == before
    assert subprocess.run(["ip", "link", "show", veth], capture_output=True).returncode == 0
    assert f"Address: {_ip(rt, 'web')}" in rt.ok("exec", "web", "nslookup", "web", "127.0.0.11")
    assert rt.inspect("web")["State"]["Running"]


@pytest.mark.parametrize("flags, words", [
    (["-p", "8081:80"], "conflicting options: port publishing and the container type network mode"),
    (["-h", "other"], "conflicting options: hostname and the network mode"),
    (["--dns", "10.0.0.1"], "conflicting options: dns and the network mode"),
    (["--network-alias", "x"], "network-scoped aliases are only supported for user-defined networks"),
])
def test_docker_refusals(api, flags: list[str], words: str) -> None:
    before = api.rt.ok("ps", "-aq")
    result = api.rt("run", "--rm", "--network", "container:web", *flags, "busybox", "true")
    assert (result.code, result.err.strip()) == (125, f"Error: {words}")
    assert api.rt.ok("ps", "-aq") == before  # nothing made


def test_x_missing_or_not_running(api) -> None:
    rt = api.rt
    bad = rt("run", "--rm", "--network", "container:", "busybox", "true")
    assert (bad.code, bad.err.strip()) == (125, "Error: Invalid network mode: invalid container format "
                                                "container:<name|id>")
    missing = rt("run", "--rm", "--network", "container:nosuch", "busybox", "true")
    assert (missing.code, missing.err.strip()) == (125, "Error: No such container: nosuch")
    stopped = rt.ok("create", "--name", "idle", "busybox", "true").strip()
    words = f"Error: cannot join network of a non running container: {stopped}"
    refused = rt("run", "--rm", "--network", "container:idle", "busybox", "true")
    assert (refused.code, refused.err.strip()) == (125, words)
    rt.ok("create", "--name", "waits", "--network", "container:idle", "busybox", "true")
    start = rt("start", "waits")
    assert (start.code, start.err.strip()) == (1, words)
    rt.ok("rm", "waits", "idle")


def test_x_stops_restarts_and_goes_while_the_joiner_runs(api) -> None:
    """docker's: X's stop leaves the joiner running with lo only; a restarted joiner
    joins X's new netns; rm of a stopped X is allowed, and the joiner then cannot start."""
    rt = api.rt
    donor = rt.ok("run", "-d", "--name", "donor", "--network", NET, "busybox", "sleep", "1000").strip()
    rt.ok("run", "-d", "--name", "rider", "--network", "container:donor", "busybox", "sleep", "1000")
    rm_running = rt("rm", "donor")
    assert rm_running.code == 1 and "You cannot remove a running container" in rm_running.err
    rt.ok("stop", "-t", "0", "donor")
    assert rt.inspect("rider")["State"]["Running"]
    assert " eth0 " not in _addresses(rt, "rider")
    rt.ok("start", "donor")
    rt.ok("restart", "-t", "0", "rider")
    assert f"inet {_ip(rt, 'donor')}/" in _addresses(rt, "rider")
    rt.ok("stop", "-t", "0", "donor")
    rt.ok("rm", "donor")
    again = rt("restart", "-t", "0", "rider")
    assert (again.code, again.err) == (1, f"Error: Cannot restart container rider: No such container: {donor}\n")
    assert not rt.inspect("rider")["State"]["Running"]
    rt.ok("rm", "rider")


@pytest.mark.skipif(DOCKER_CLI is None, reason="no docker CLI")
def test_the_docker_cli_through_the_service(api) -> None:
    ran = api.docker("run", "--rm", "--network", "container:web", "busybox", "sh", "-c", FETCH)
    assert (ran.returncode, ran.stdout) == (0, "hi-from-web\n"), ran.stderr
    refused = api.docker("run", "--rm", "--network", "container:web", "-p", "8082:80", "busybox", "true")
    assert refused.returncode == 125
    assert "conflicting options: port publishing and the container type network mode" in refused.stderr
