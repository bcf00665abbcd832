"""flags3's flags through the CLI parser and the Engine API body: what is refused
before anything exists, and what reaches the create options."""

from __future__ import annotations

from typing import Any

import pytest
from mydocker.cli.api.create_body import create_argv
from mydocker.cli.commands import create as create_command
from mydocker.cli.container_flags import create_options
from mydocker.cli.parsing import UsageError
from mydocker.statemachine.container_refs import split_volumes_from


def options_of_argv(*argv: str) -> Any:
    return create_options(create_command.parser().parse_args([*argv, "busybox", "true"]))


@pytest.mark.parametrize("text, parsed", [("db", ("db", "")), ("db:ro", ("db", "ro")), ("db:rw", ("db", "rw")),
                                          ("db:z", ("db", "z"))])
def test_volumes_from_modes(text: str, parsed: tuple[str, str]) -> None:
    assert split_volumes_from(text) == parsed


@pytest.mark.parametrize("text", ["db:xx", "db:ro,rw"])
def test_volumes_from_bad_modes(text: str) -> None:
    with pytest.raises(ValueError, match="invalid mode"):
        split_volumes_from(text)


def test_container_modes_reach_the_options_unresolved() -> None:
    opts = options_of_argv("--ipc", "container:a", "--pid", "container:b", "--volumes-from", "c:ro",
                           "--volumes-from", "d")
    assert (opts.spec_extra["ipc"], opts.spec_extra["pid_mode"]) == ("container:a", "container:b")
    assert opts.config_extra["volumes_from"] == ["c:ro", "d"]
    assert "volumes_from" not in options_of_argv().config_extra


@pytest.mark.parametrize("argv, words", [
    (["--pid", "container:"], "--pid: invalid PID mode"),
    (["--pid", "private"], "--pid: invalid PID mode"),
    (["--ipc", "container:"], "invalid name or ID supplied"),
    (["--ipc", "none2"], "Invalid IPC mode: none2"),
])
def test_bad_namespace_modes(argv: list[str], words: str) -> None:
    with pytest.raises(UsageError, match=words):
        options_of_argv(*argv)


def test_api_body_volumes_from() -> None:
    argv, _ = create_argv({"Image": "busybox", "HostConfig": {"VolumesFrom": ["a:ro", "b"], "IpcMode": "container:x",
                                                              "PidMode": "container:y"}}, None)
    opts = create_options(create_command.parser().parse_args(argv))
    assert opts.config_extra["volumes_from"] == ["a:ro", "b"]
    assert (opts.spec_extra["ipc"], opts.spec_extra["pid_mode"]) == ("container:x", "container:y")
