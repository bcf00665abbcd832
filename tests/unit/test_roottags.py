"""Root tags: the registry of roots, the tags host objects carry, and the choice
of a default network's subnet and bridge name."""

from __future__ import annotations

from pathlib import Path

import pytest
from mydocker.core import iptables, network, roottags
from mydocker.statemachine import networks, system
from mydocker.statemachine.errors import UserError


def _root(tmp_path: Path, name: str) -> str:
    root = tmp_path / name
    root.mkdir()
    (root / "mydocker.db").touch()
    return str(root)


def test_tag_is_six_hex_digits_of_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tag = roottags.tag_of("r")
    assert roottags.is_tag(tag) and tag == roottags.tag_of(str(tmp_path / "r"))
    assert roottags.tag_of("/a") != roottags.tag_of("/b")


def test_registry_says_live_gone_or_unknown(tmp_path):
    registry = tmp_path / "registry"
    root = _root(tmp_path, "one")
    tag = roottags.tag_of(root)
    assert roottags.status(tag, registry) == roottags.UNKNOWN
    roottags.register(root, registry)
    roottags.register(root, registry)
    assert roottags.roots_of(tag, registry) == [root], "registered once"
    assert roottags.status(tag, registry) == roottags.LIVE
    (Path(root) / "mydocker.db").unlink()
    assert roottags.status(tag, registry) == roottags.GONE
    roottags.forget_gone(tag, registry)
    assert roottags.status(tag, registry) == roottags.UNKNOWN


def _colliding_names(base: Path) -> tuple[str, str]:
    """Two directory names under base whose roots share a tag (a birthday search)."""
    import secrets

    seen: dict[str, str] = {}
    for _ in range(1_000_000):
        # random names: CRC is affine, so names differing only in a short counter may never collide
        name = secrets.token_hex(8)
        tag = roottags.tag_of(base / name)
        if tag in seen:
            return seen[tag], name
        seen[tag] = name
    raise AssertionError("no collision")


def test_a_path_with_a_newline_is_never_registered(tmp_path):
    registry = tmp_path / "registry"
    root = _root(tmp_path, "a\nb")
    roottags.register(root, registry)
    assert roottags.status(roottags.tag_of(root), registry) == roottags.UNKNOWN


def test_a_tag_shared_by_two_roots_is_live_while_either_exists(tmp_path):
    registry = tmp_path / "registry"
    names = _colliding_names(tmp_path)
    first, second = _root(tmp_path, names[0]), _root(tmp_path, names[1])
    tag = roottags.tag_of(first)
    assert roottags.tag_of(second) == tag
    roottags.register(first, registry)
    roottags.register(second, registry)
    (Path(first) / "mydocker.db").unlink()
    assert roottags.status(tag, registry) == roottags.LIVE
    roottags.forget_gone(tag, registry)
    assert roottags.roots_of(tag, registry) == [first, second]
    roottags.unregister(second, registry)
    assert roottags.roots_of(tag, registry) == [first]
    roottags.unregister(first, registry)
    assert not (registry / tag).exists()


def test_link_aliases_carry_root_network_and_container():
    assert network.parse_alias(network.alias_for("abc123", "n" * 64)) == ("abc123", "n" * 64, "")
    assert network.parse_alias(network.alias_for("abc123", "n1", "c1")) == ("abc123", "n1", "c1")
    assert network.alias_for("", "n1") == "mydocker:n1"
    assert network.parse_alias("mydocker:n1") == ("", "n1", ""), "made before root tags: still ours"
    for foreign in ("", "docker0", "mydocker@", "mydocker@abc123", "mydocker:", "other:abc"):
        assert network.parse_alias(foreign) is None


def test_rule_comments_name_their_owner():
    rules = iptables.network_rules("n" * 64, "mydocker-abc123", "10.1.0.0/24", "abc123")
    rules += iptables.port_rules("n" * 64, "c" * 64, "mydocker-abc123", "10.1.0.2",
                                 [{"proto": "tcp", "host_port": 8080, "container_port": 80}], "abc123")
    listed = [f"{r.table} -A {r.chain} " + " ".join(f'"{a}"' if ":" in a else a for a in r.args) for r in rules]
    owners = {iptables.owner_of(line) for line in listed}
    assert owners == {("abc123", "n" * 12, ""), ("abc123", "n" * 12, "c" * 12)}
    assert iptables.owner_of('nat -A MYDOCKER-POSTROUTING -m comment --comment "mydocker:0123456789ab" '
                             '-j MASQUERADE') == ("", "0123456789ab", "")
    assert iptables.owner_of('filter -A MYDOCKER-FORWARD -m comment --comment "somebody else" -j ACCEPT') is None
    assert iptables.owner_of("filter -A MYDOCKER-FORWARD -j MYDOCKER-ISOLATION-1") is None


def test_cgroup_names_give_their_tag():
    assert system._cgroup_tag("/sys/fs/cgroup/pids/x/mydocker-abc123-0123456789ab") == "abc123"
    assert system._cgroup_tag("/sys/fs/cgroup/pids/mydocker-0123456789ab") == "", "untagged: nobody's to judge"


def test_processes_of_a_root_are_its_commands_monitors_and_watchers(tmp_path):
    proc = tmp_path / "proc"

    def fake(pid: int, *argv: str, environ: str = "") -> None:
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        (proc / str(pid) / "environ").write_bytes(environ.encode())

    fake(100, "/usr/bin/python3", "/venv/bin/mydocker", "--root", "/gone/root", "run", "-d", "busybox", "top")
    fake(101, "/usr/bin/python3", "-m", "mydocker.statemachine.watcher", "/gone/root", "c" * 64, "5", "6")
    fake(102, "/usr/local/bin/mydocker", "ps", environ="MYDOCKER_ROOT=/gone/root\0")
    fake(103, "/venv/bin/mydocker", "--root=/gone/root", "ps")
    fake(200, "/usr/bin/vim", "/gone/root/notes")  # not ours, whatever it names
    fake(201, "/venv/bin/mydocker", "--root", "/other/root", "ps")
    fake(202, "/venv/bin/mydocker", "ps")  # the default root
    assert sorted(roottags.processes_of("/gone/root", proc)) == [100, 101, 102, 103]
    assert roottags.processes_of("/var/lib/mydocker", proc) == [202]


def test_a_default_network_takes_the_first_free_subnet_of_its_pools():
    others = [("172.29.0.0/16", "route on mydocker-aaaaaa"), ("172.28.5.0/24", "network x")]
    assert str(networks._free_subnet(others, networks.DEFAULT_POOLS)) == "172.27.0.0/16"
    everything = [("172.16.0.0/12", "route"), ("192.168.0.0/16", "route")]
    with pytest.raises(UserError, match="non-overlapping"):
        networks._free_subnet(everything, networks.DEFAULT_POOLS)
    assert str(networks._free_subnet([("172.30.0.0/24", "n")], networks.AUTO_POOLS)) == "172.30.1.0/24"


def test_a_default_network_is_named_for_its_root_unless_the_name_is_taken(monkeypatch):
    monkeypatch.setattr(network, "link_exists", lambda name: False)
    assert networks._free_bridge_name("abc123", "f" * 64, default=True) == "mydocker-abc123"
    assert networks._free_bridge_name("abc123", "f" * 64, default=False) == "mdbr-ffffffffff"
    monkeypatch.setattr(network, "link_exists", lambda name: True)
    assert networks._free_bridge_name("abc123", "f" * 64, default=True) == "mdbr-ffffffffff"
    assert len("mydocker-abc123") <= network.IFNAMSIZ
