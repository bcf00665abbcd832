"""--network container:X through the CLI parser and the Engine API body: the flags
docker refuses beside it (with its words, before anything exists), the ones it
accepts, and the init's namespaces when it joins X's netns."""

from __future__ import annotations

from typing import Any

import pytest
from mydocker.cli.api.create_body import create_argv
from mydocker.cli.commands import create as create_command
from mydocker.cli.container_flags import create_options
from mydocker.cli.parsing import UsageError
from mydocker.core import init
from mydocker.core import syscalls as sc
from mydocker.core.spec import ContainerSpec
from mydocker.statemachine.container_refs import network_donor

JOIN = ("--network", "container:web")


def options_of_argv(*argv: str) -> Any:
    return create_options(create_command.parser().parse_args([*argv, "busybox", "true"]))


@pytest.mark.parametrize("flags, words", [
    (["-p", "80:80"], "conflicting options: port publishing and the container type network mode"),
    (["-P"], "conflicting options: port publishing and the container type network mode"),
    (["-h", "foo"], "conflicting options: hostname and the network mode"),
    (["--dns", "10.0.0.1"], "conflicting options: dns and the network mode"),
    (["--add-host", "a:10.0.0.2"], "conflicting options: custom host-to-IP mapping and the network mode"),
    (["--mac-address", "02:42:ac:11:00:02"], "conflicting options: mac-address and the network mode"),
    (["--expose", "80"], "conflicting options: port exposing and the container type network mode"),
    (["--network-alias", "foo"], "network-scoped aliases are only supported for user-defined networks"),
    (["--link", "db:db"], "links are only supported for user-defined networks"),
    # docker's order when several are given: the CLI's alias check, then the daemon's hostname first
    (["--link", "db:db", "--network-alias", "foo"], "network-scoped aliases"),
    (["-p", "80:80", "-h", "foo"], "conflicting options: hostname"),
])
def test_docker_refuses_these_beside_a_joined_network(flags: list[str], words: str) -> None:
    with pytest.raises(UsageError, match=words) as caught:
        options_of_argv(*JOIN, *flags)
    assert caught.value.exit_code == 125


@pytest.mark.parametrize("flags", [["--dns-search", "corp.test"], ["--dns-option", "ndots:2"], ["--ip", "10.1.2.3"],
                                   ["--domainname", "corp.test"], []])
def test_docker_accepts_these(flags: list[str]) -> None:
    opts = options_of_argv(*JOIN, *flags)
    assert opts.network == "container:web" and opts.ports == []


def test_api_body_network_mode_container() -> None:
    argv, _ = create_argv({"Image": "busybox", "HostConfig": {"NetworkMode": "container:web"}}, None)
    assert create_options(create_command.parser().parse_args(argv)).network == "container:web"
    argv, _ = create_argv({"Image": "busybox", "HostConfig": {"NetworkMode": "container:web",
                                                              "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}},
                          None)
    with pytest.raises(UsageError, match="port publishing and the container type network mode"):
        create_options(create_command.parser().parse_args(argv))


def test_network_donor() -> None:
    assert network_donor({"network": "container:abc"}) == "abc"
    assert network_donor({"network": "bridge"}) is None
    assert network_donor({}) is None


def _spec(network: str, joins: dict[str, int]) -> ContainerSpec:
    return ContainerSpec(id="c" * 64, root="/tmp/r", argv=["true"], env=[], hostname="h", workdir="/", layers=[],
                         cgroups={}, network=network, joins=joins)


def test_a_joiner_makes_no_netns_of_its_own() -> None:
    assert init.namespace_flags(_spec("bridge", {})) & sc.CLONE_NEWNET
    assert not init.namespace_flags(_spec("container:" + "a" * 64, {"net": 7})) & sc.CLONE_NEWNET
    assert init.namespace_flags(_spec("container:" + "a" * 64, {"net": 7})) & sc.CLONE_NEWUTS  # its own names
