"""Issue 10's small differences from docker 20.10, each as docker does it (compared
side by side with a private dockerd 20.10 on this machine).

All traffic stays between the host and containers this test made, on subnets it picked."""

from __future__ import annotations

import ipaddress

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
    md.ok("run", "-d", "--name", "gw", "--network", "s10zeta", "-p", f"{port}:80", "busybox", "sh", "-c", page)
    try:
        md.ok("network", "connect", "s10beta", "gw")  # eth1
        md.ok("network", "connect", "s10alpha", "gw")  # eth2
        assert _default_route(md, "gw").startswith(f"default via {zeta[1]} dev eth0")
        assert _wget(f"http://127.0.0.1:{port}/") == "hello-gw\n"

        md.ok("network", "disconnect", "s10zeta", "gw")
        assert _default_route(md, "gw").startswith(f"default via {alpha[1]} dev eth2")
        assert _wget(f"http://127.0.0.1:{port}/") == "hello-gw\n"
        assert md.ok("port", "gw").splitlines() == [f"80/tcp -> 0.0.0.0:{port}"]
        info = md.inspect("gw")["NetworkSettings"]
        assert set(info["Networks"]) == {"s10alpha", "s10beta"}
        assert info["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}

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
