"""The container's /etc/hosts and /etc/resolv.conf."""

from __future__ import annotations

from mydocker.core import etcfiles


def test_hosts_names_the_container_once_each():
    text = etcfiles.hosts_text(["abc123", "abc123", "web"], "10.213.7.2")
    assert "127.0.0.1\tlocalhost" in text
    assert text.splitlines()[-1] == "10.213.7.2\tabc123 web"


def test_a_loopback_resolver_is_dropped_in_a_network_namespace():
    host = "search lan\nnameserver 127.0.0.53\noptions edns0\n"
    assert etcfiles.resolv_text(host, own_network_stack=False) == host
    inside = etcfiles.resolv_text(host, own_network_stack=True)
    assert "127.0.0.53" not in inside and "search lan" in inside and "nameserver 8.8.8.8" in inside
    assert etcfiles.resolv_text("nameserver 10.1.1.1\n", True) == "nameserver 10.1.1.1\n"
