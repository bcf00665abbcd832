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


def test_hosts_lists_add_host_entries_and_network_peers():
    text = etcfiles.hosts_text(["web", "abc123"], "10.0.0.2", ["db.local:10.1.2.3"],
                               [("10.0.0.3", ["cache", "redis", "def456"])])
    lines = text.splitlines()
    assert lines[-3:] == ["10.1.2.3\tdb.local", "10.0.0.2\tweb abc123", "10.0.0.3\tcache redis def456"]


def test_resolv_flags_replace_the_hosts_lines_of_their_kind():
    host = "search corp\nnameserver 10.9.9.9\noptions edns0\n"
    assert etcfiles.resolv_text(host, True, {"dns": ["192.0.2.1"]}) == \
        "search corp\nnameserver 192.0.2.1\noptions edns0\n"
    assert etcfiles.resolv_text(host, True, {"dns_search": ["a.test", "b.test"], "dns_options": ["ndots:3"]}) == \
        "search a.test b.test\nnameserver 10.9.9.9\noptions ndots:3\n"


def test_rewrite_in_place_keeps_the_inode_a_bind_mount_points_at(tmp_path):
    path = tmp_path / "hosts"
    path.write_text("a much longer first version of the file\n")
    inode = path.stat().st_ino
    etcfiles.rewrite_in_place(path, "short\n")
    assert path.stat().st_ino == inode and path.read_text() == "short\n"
