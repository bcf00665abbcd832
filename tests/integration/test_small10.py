"""Issue 10's small differences from docker 20.10, each as docker does it (compared
side by side with a private dockerd 20.10 on this machine).

All traffic stays between the host and containers this test made, on subnets it picked."""

from __future__ import annotations

import ipaddress
import os

from tests.integration.conftest import free_host_port, free_subnet
from tests.integration.test_network import _wget


def _default_route(md, name: str) -> str:
    return next((line for line in md.ok("exec", name, "ip", "route").splitlines() if line.startswith("default")), "")


def test_disconnect_of_the_first_network_moves_default_route_and_ports(md):
    """docker: the remaining network whose name sorts first takes the default route
    and the published ports, on the interface it already has."""
    zeta, beta, alpha = (ipaddress.ip_network(free_subnet()) for _ in range(3))
    port = free_host_port()
    md.ok("network", "create", "--subnet", str(zeta), "s10zeta")
    md.ok("network", "create", "--subnet", str(beta), "s10beta")
    md.ok("network", "create", "--subnet", str(alpha), "s10alpha")
    page = "mkdir -p /www && echo hello-gw > /www/index.html && exec httpd -f -p 80 -h /www"
    high, udp = free_host_port(), free_host_port()
    md.ok("run", "-d", "--name", "gw", "--network", "s10zeta", "-p", f"{port}:80", "-p", f"{high}:100",
          "-p", f"127.0.0.1:{udp}:83/udp", "busybox", "sh", "-c", page)
    try:
        # docker sorts port's lines as strings: 100/tcp before 80/tcp
        assert md.ok("port", "gw").splitlines() == [
            f"100/tcp -> 0.0.0.0:{high}", f"80/tcp -> 0.0.0.0:{port}", f"83/udp -> 127.0.0.1:{udp}"]
        md.ok("network", "connect", "s10beta", "gw")  # eth1: sorts before zeta, takes route and ports
        assert _default_route(md, "gw").startswith(f"default via {beta[1]} dev eth1")
        md.ok("network", "connect", "s10alpha", "gw")  # eth2: before beta, takes them again (docker's)
        assert _default_route(md, "gw").startswith(f"default via {alpha[1]} dev eth2")
        assert _wget(f"http://127.0.0.1:{port}/") == "hello-gw\n"
        assert len(md.ok("port", "gw").splitlines()) == 3

        md.ok("network", "disconnect", "s10zeta", "gw")
        assert _default_route(md, "gw").startswith(f"default via {alpha[1]} dev eth2")
        assert _wget(f"http://127.0.0.1:{port}/") == "hello-gw\n"
        assert md.ok("port", "gw", "80") == f"0.0.0.0:{port}\n"
        assert len(md.ok("port", "gw").splitlines()) == 3
        info = md.inspect("gw")["NetworkSettings"]
        assert set(info["Networks"]) == {"s10alpha", "s10beta"}
        assert info["Ports"]["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": str(port)}]

        md.ok("network", "disconnect", "s10alpha", "gw")  # and again: beta is what is left
        assert _default_route(md, "gw").startswith(f"default via {beta[1]} dev eth1")
        assert _wget(f"http://127.0.0.1:{port}/") == "hello-gw\n"

        md.ok("restart", "-t", "0", "gw")  # after a restart its first network is beta, ports on it
        assert _default_route(md, "gw").startswith(f"default via {beta[1]} dev eth0")
        assert _wget(f"http://127.0.0.1:{port}/") == "hello-gw\n"
    finally:
        md.ok("rm", "-f", "gw")
        for name in ("s10zeta", "s10beta", "s10alpha"):
            md.ok("network", "rm", name)
    from mydocker.core import iptables

    assert not [rule for rule in iptables.list_rules() if f"--dport {port} " in rule], "the moved rules went with rm"
    assert md("replay", "--check").code == 0


def _err(result, code: int, line: str) -> None:
    assert (result.code, result.err) == (code, line + "\n"), result


def test_ipc_none_update_inspect_paths_stats_cp_and_events_as_docker(md, tmp_path):
    # --ipc none: a private IPC namespace and no /dev/shm at all
    out = md.ok("run", "--rm", "--network", "none", "--ipc", "none", "busybox", "sh", "-c",
                "test -e /dev/shm && echo has-shm; readlink /proc/self/ns/ipc")
    assert "has-shm" not in out and out.strip() != os.readlink("/proc/self/ns/ipc")
    assert "shm" in md.ok("run", "--rm", "--network", "none", "busybox", "ls", "/dev")

    cid = md.ok("create", "--name", "idle", "--network", "none", "--ipc", "none", "-m", "100m",
                "busybox", "sleep", "1000").strip()
    info = md.inspect("idle")
    assert info["HostConfig"]["IpcMode"] == "none"
    # never started: docker names none of the files yet
    assert [info[k] for k in ("HostsPath", "ResolvConfPath", "HostnamePath", "LogPath")] == ["", "", "", ""]
    assert info["ExecIDs"] is None
    md.ok("start", "idle")
    directory = md.root / "containers" / cid
    info = md.inspect("idle")
    assert info["HostsPath"] == str(directory / "hosts") and info["HostnamePath"] == str(directory / "hostname")
    assert info["ResolvConfPath"] == str(directory / "resolv.conf")
    assert info["LogPath"] == str(directory / "container.log")
    assert all(os.path.exists(info[k]) for k in ("HostsPath", "ResolvConfPath", "HostnamePath", "LogPath"))
    assert info["ExecIDs"] is None
    md.ok("exec", "-d", "idle", "sleep", "1000")
    [exec_id] = md.inspect("idle")["ExecIDs"]
    assert len(exec_id) == 64

    # update -m 0 (or --memory-swap 0) is a flag that changes nothing: docker prints the name, exit 0
    assert md.ok("update", "-m", "0", "idle") == "idle\n"
    assert md.ok("update", "--memory-swap", "0", "idle") == "idle\n"
    assert md.inspect("idle")["HostConfig"]["Memory"] == 100 * 1024 * 1024
    _err(md("update", "idle"), 1, "you must provide one or more flags when using this command")
    _err(md("update", "-m", "50m", "--memory-swap", "20m", "idle"), 1,
         "Error: Minimum memoryswap limit should be larger than memory limit, see usage")

    md.ok("stop", "-t", "0", "idle")
    assert md.inspect("idle")["ExecIDs"] is None  # its execs died with it
    assert md.inspect("idle")["HostsPath"] == str(directory / "hosts")  # named still, as docker
    # a stopped container in stats: its name, zeros for the rest
    assert md.ok("stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}",
                 "idle") == "idle 0.00% 0B / 0B 0\n"

    # cp: docker 20.10's words (its CLI names a missing container as a missing container:path)
    local = tmp_path / "file"
    local.write_text("x")
    _err(md("cp", "idle:/nonexist", str(tmp_path / "out")), 1, "Error: No such container:path: idle:/nonexist")
    _err(md("cp", "nosuch:/x", str(tmp_path / "out")), 1, "Error: No such container:path: nosuch:/x")
    _err(md("cp", str(tmp_path / "missing"), "idle:/tmp"), 1,
         f"lstat {tmp_path / 'missing'}: no such file or directory")
    _err(md("cp", str(local), "idle:/nonexist/x"), 1, "Error: No such container:path: idle:/nonexist")
    _err(md("cp", str(local), "idle:/nonexist/"), 1, "no such directory")
    _err(md("cp", str(local), "idle:/etc/passwd/"), 1, "no such directory")
    _err(md("cp", str(local), "idle:/etc/passwd/x"), 1, "Error: No such container:path: idle:/etc/passwd")
    _err(md("cp", str(local), "nosuch:/a/b"), 1, "Error: No such container:path: nosuch:/a")
    _err(md("cp", str(local), "nosuch:x"), 1, "Error: No such container:path: nosuch:.")
    _err(md("cp", str(local), "nosuch:/"), 1, "no such directory")
    assert not (tmp_path / "out").exists()
    md.ok("cp", str(local), "idle:/tmp/")
    assert md.ok("cp", "idle:/tmp/file", "-")  # what worked still works

    # events: -f type= keeps only that kind of object
    md.ok("volume", "create", "s10vol")
    volume_lines = md.ok("events", "--since", "0", "--until", "0s", "-f", "type=volume").splitlines()
    assert volume_lines and all(" volume " in line for line in volume_lines)
    container_lines = md.ok("events", "--since", "0", "--until", "0s", "-f", "type=container").splitlines()
    assert container_lines and all(line.split()[1] == "container" for line in container_lines)
    md.ok("rm", "idle")
    md.ok("volume", "rm", "s10vol")
