"""POST /containers/create's body goes through the CLI's own flag parsing and
CreateOptions builder: what docker-py and the docker CLI send lands in the same
options `mydocker create` makes."""

from __future__ import annotations

from typing import Any

import pytest
from mydocker.cli.api.create_body import create_argv
from mydocker.cli.api.errors import ApiError
from mydocker.cli.commands import create as create_command
from mydocker.cli.container_flags import create_options
from mydocker.cli.parsing import UsageError


def options_of(body: dict[str, Any], name: str | None = None) -> Any:
    argv, after = create_argv(body, name)
    options = create_options(create_command.parser().parse_args(argv))
    if "entrypoint" in after:
        options.entrypoint = after["entrypoint"]
    options.config_extra.update(after["config_extra"])
    return options


def test_a_docker_cli_body_becomes_the_clis_options() -> None:
    opts = options_of({
        "Image": "busybox", "Cmd": ["sh", "-c", "echo $A"], "Env": ["A=1", "FROM_SERVER"], "Tty": True,
        "OpenStdin": True, "WorkingDir": "/tmp", "User": "1000:1000", "Labels": {"tier": "front"},
        "ExposedPorts": {"8080/tcp": {}}, "StopSignal": "SIGINT", "StopTimeout": 3,
        "HostConfig": {"Memory": 64 << 20, "NanoCpus": 1_500_000_000, "CpuShares": 512, "PidsLimit": 50,
                       "NetworkMode": "none", "AutoRemove": False, "ReadonlyRootfs": True, "Init": True,
                       "CapDrop": ["NET_RAW"], "ExtraHosts": ["db:10.0.0.5"], "Dns": ["1.1.1.1"],
                       "Tmpfs": {"/run": "size=1m"}, "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
                       "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]},
        "UnknownField": 1,
    }, "/web")
    assert opts.name == "web" and opts.image == "busybox" and opts.command == ["sh", "-c", "echo $A"]
    assert opts.env == ["A=1"]  # a bare KEY would copy the service's own environment
    assert (opts.tty, opts.interactive, opts.workdir, opts.user) == (True, True, "/tmp", "1000:1000")
    assert opts.limits.memory == 64 << 20 and opts.limits.cpu_quota == 150000 and opts.limits.cpu_period == 100000
    assert opts.limits.cpu_shares == 512 and opts.limits.pids_limit == 50
    assert opts.network == "none" and not opts.autoremove and opts.readonly_rootfs and opts.init
    extra = opts.config_extra
    assert extra["labels"] == {"tier": "front"} and extra["stop_signal"] == "SIGINT" and extra["stop_timeout"] == 3
    assert extra["exposed_ports"] == ["8080/tcp"]
    assert extra["etc"]["extra_hosts"] == ["db:10.0.0.5"] and extra["etc"]["dns"] == ["1.1.1.1"]
    assert extra["restart_policy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert "NET_RAW" not in opts.security["capabilities"]
    assert opts.security["ulimits"] == {"nofile": [1024, 2048]}


def test_entrypoint_lists_ports_and_aliases() -> None:
    opts = options_of({
        "Image": "busybox", "Entrypoint": ["/bin/sh", "-c"], "Cmd": "echo hi",
        "HostConfig": {"NetworkMode": "appnet",
                       "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}},
        "NetworkingConfig": {"EndpointsConfig": {"appnet": {"Aliases": ["web", "www"]}}},
    })
    assert opts.entrypoint == ["/bin/sh", "-c"] and opts.command == ["echo hi"]
    assert opts.network == "appnet" and opts.config_extra["aliases"] == ["web", "www"]
    assert [(p["host_ip"], p["host_port"], p["container_port"]) for p in opts.ports] == \
        [("127.0.0.1", 18080, 80)]
    assert options_of({"Image": "busybox", "Entrypoint": [""]}).entrypoint == []


@pytest.mark.parametrize("body", [
    {"Image": "busybox", "Tty": "yes"},
    {"Image": "busybox", "Env": [1]},
    {"Image": "busybox", "HostConfig": {"Memory": "lots"}},
    {"Image": "busybox", "HostConfig": {"Privileged": 1}},
    {"Image": "busybox", "HostConfig": {"AutoRemove": True, "RestartPolicy": {"Name": "always"}}},
    {"Image": "busybox", "HostConfig": []},
    {"Image": 7},
    {},
])
def test_a_wrong_type_is_400_before_anything_is_made(body: dict[str, Any]) -> None:
    with pytest.raises(ApiError) as caught:
        create_argv(body, None)
    assert caught.value.status == 400


def test_what_the_cli_refuses_the_api_refuses() -> None:
    with pytest.raises(UsageError):
        options_of({"Image": "busybox", "WorkingDir": "relative"})
    with pytest.raises(UsageError):
        options_of({"Image": "busybox", "HostConfig": {"Mounts": [{"Type": "bind", "Target": "/x",
                                                                  "Source": "/no/such/path"}]}})
