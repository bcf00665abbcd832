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


@pytest.mark.parametrize("argv, words", [
    (["--runtime", "foo"], "Unknown runtime specified foo"),
    (["--userns", "private"], "--userns: invalid USER mode"),
    (["--userns", "foo"], "--userns: invalid USER mode"),
    (["--blkio-weight-device", "/dev/null"], 'invalid argument "/dev/null" for "--blkio-weight-device" flag: '
                                             "bad format: /dev/null"),
    (["--blkio-weight-device", "foo:300"], "bad format for device path: foo:300"),
    (["--blkio-weight-device", "/dev/null:5"], "invalid weight for device: /dev/null:5"),
    (["--blkio-weight-device", "/dev/null:1001"], "invalid weight for device: /dev/null:1001"),
    (["--blkio-weight-device", "/dev/null:abc"], "invalid weight for device: /dev/null:abc"),
])
def test_runtime_userns_weight_device_refusals(argv: list[str], words: str) -> None:
    with pytest.raises(UsageError, match=words.replace("(", r"\(")):
        options_of_argv(*argv)


@pytest.mark.parametrize("argv, runtime, userns", [
    ([], "runc", ""), (["--runtime", "runc", "--userns", "host"], "runc", "host"),
    (["--runtime", "io.containerd.runc.v2"], "io.containerd.runc.v2", ""),
])
def test_runtime_and_userns_accepted(argv: list[str], runtime: str, userns: str) -> None:
    extra = options_of_argv(*argv).config_extra
    assert (extra["runtime"], extra["userns_mode"]) == (runtime, userns)


def test_weight_device_lines_reach_the_v1_and_v2_files(tmp_path) -> None:
    from mydocker.core import cgroups

    limits = cgroups.Limits(blkio_weight_device=[["/dev/vda", "253:0", 300], ["/dev/vdb", "253:16", 20]])
    blkio = tmp_path / "blkio" / "ctr"
    blkio.mkdir(parents=True)
    (blkio / "blkio.bfq.weight_device").write_text("")
    cgroups.create({"blkio": str(blkio)}, limits)
    # one write per device, as the kernel takes them; the last stays in a plain file
    assert (blkio / "blkio.bfq.weight_device").read_text() == "253:16 20"
    unified = tmp_path / "unified" / "ctr"
    unified.mkdir(parents=True)
    (unified / "io.weight").write_text("")
    cgroups.create({"unified": str(unified)}, limits)
    assert (unified / "io.weight").read_text() == "253:16 20"
    assert (tmp_path / "unified" / "cgroup.subtree_control").read_text() == "+io"
    assert cgroups.weight_device_file(str(tmp_path)) is None


def test_api_body_runtime_userns_weight_device() -> None:
    host = {"Runtime": "runc", "UsernsMode": "host", "BlkioWeightDevice": [{"Path": "/dev/x", "Weight": 300}]}
    argv, _ = create_argv({"Image": "busybox", "HostConfig": host}, None)
    assert argv[argv.index("--runtime") + 1] == "runc" and argv[argv.index("--userns") + 1] == "host"
    assert argv[argv.index("--blkio-weight-device") + 1] == "/dev/x:300"


def test_device_filter_program_shape() -> None:
    from mydocker.core.devicefilter import assemble

    prologue, deny = 6, 2
    # type, access (3 insns), major, minor checks, then allow (2)
    assert len(assemble(["c 1:3 rw"])) == 8 * (prologue + 1 + 3 + 1 + 1 + 2 + deny)
    # rwm needs no access check; wildcards no number checks
    assert len(assemble(["b *:* rwm"])) == 8 * (prologue + 1 + 2 + deny)
    # allow-all ends the program: nothing after it could run
    assert len(assemble(["a *:* rwm", "c 1:3 r"])) == 8 * (prologue + 2)
    with pytest.raises(ValueError, match="invalid device rule"):
        assemble(["x 1:3 r"])


def test_v2_cgroups_attach_the_allow_list_with_the_rules(tmp_path, monkeypatch) -> None:
    from mydocker.core import cgroups, devicefilter

    attached: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(devicefilter, "attach", lambda directory, rules: attached.append((directory, rules)))
    unified = tmp_path / "ctr"
    cgroups.create({"unified": str(unified)}, cgroups.Limits(devices=["c 1:3 rwm"], device_cgroup_rules=["c 42:* r"]))
    assert attached == [(str(unified), ["c 1:3 rwm", "c 42:* r"])]
    cgroups.create({"unified": str(unified)}, cgroups.Limits())  # --privileged: no list, no program
    assert len(attached) == 1
