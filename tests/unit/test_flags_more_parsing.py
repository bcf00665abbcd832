"""The flags2 flags through the CLI parser and the Engine API body: what lands in
the spec and the limits, and what is refused before anything exists."""

from __future__ import annotations

from typing import Any

import pytest
from mydocker.cli.api.create_body import create_argv
from mydocker.cli.commands import create as create_command
from mydocker.cli.container_flags import create_options
from mydocker.cli.parsing import UsageError
from mydocker.core.sysctls import allowed


def options_of_argv(*argv: str) -> Any:
    return create_options(create_command.parser().parse_args([*argv, "busybox", "true"]))


def test_an_api_body_reaches_the_same_spec_fields_and_limits() -> None:
    argv, _ = create_argv({"Image": "busybox", "Domainname": "example.org", "HostConfig": {
        "Sysctls": {"net.ipv4.ip_forward": "1"}, "ShmSize": 8 << 20, "OomScoreAdj": 300, "MemorySwappiness": -1,
        "Memory": 64 << 20, "MemoryReservation": 16 << 20, "OomKillDisable": True, "CpusetMems": "0",
        "IpcMode": "shareable", "UTSMode": "", "PidMode": "host", "GroupAdd": ["10"], "NetworkMode": "none"}}, None)
    opts = create_options(create_command.parser().parse_args(argv))
    assert opts.spec_extra == {"sysctls": {"net.ipv4.ip_forward": "1"}, "shm_size": 8 << 20,
                               "domainname": "example.org", "oom_score_adj": 300, "group_add": ["10"],
                               "ipc": "shareable", "uts": "", "pid_mode": "host"}
    limits = opts.limits
    assert (limits.memory_reservation, limits.memory_swappiness, limits.oom_kill_disable, limits.cpuset_mems) == (
        16 << 20, None, True, "0")


def test_defaults_leave_everything_as_docker_does() -> None:
    opts = options_of_argv("--network", "none")
    assert opts.spec_extra["ipc"] == "private" and opts.spec_extra["sysctls"] == {}
    limits = opts.limits
    assert (limits.memory_reservation, limits.oom_kill_disable, limits.cpuset_mems) == (None, False, None)


@pytest.mark.parametrize("key, ok", [("net.ipv4.ip_forward", True), ("fs.mqueue.msg_max", True),
                                     ("kernel.shm_rmid_forced", True), ("kernel.hostname", False),
                                     ("vm.swappiness", False), ("kernel.shm", False)])
def test_only_namespaced_sysctls_are_allowed(key: str, ok: bool) -> None:
    assert allowed(key) is ok


def test_uts_host_takes_the_hosts_name_and_refuses_another() -> None:
    import socket

    assert options_of_argv("--uts", "host").hostname == socket.gethostname()
    with pytest.raises(UsageError, match="conflicting options: hostname and the UTS mode"):
        options_of_argv("--uts", "host", "--hostname", "x")
