"""Parsing docker's run/create flags and ps filters, with docker's words."""

from __future__ import annotations

import argparse
import json

import pytest
from mydocker.cli import run_flags
from mydocker.cli.parsing import UsageError
from mydocker.statemachine import container_filters
from mydocker.statemachine.errors import UserError
from mydocker.statemachine.queries import ContainerView


@pytest.mark.parametrize(("text", "expected"), [
    ("db:10.0.0.2", "db:10.0.0.2"),
    ("v6:[::1]", "v6:::1"),
    ("v6:::1", "v6:::1"),  # split at the first colon, as docker: "v6::1" would be refused
])
def test_add_host(text: str, expected: str) -> None:
    assert run_flags.parse_add_host(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("nocolon", 'invalid argument "nocolon" for "--add-host" flag: bad format for add-host: "nocolon"'),
    ("h:1.2.3", 'invalid IP address in add-host: "1.2.3"'),
    (":1.2.3.4", "bad format for add-host"),
])
def test_add_host_refused(text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        run_flags.parse_add_host(text)


def test_mount_bind_volume_tmpfs(tmp_path) -> None:
    assert run_flags.parse_mount(f"type=bind,src={tmp_path},dst=/x,readonly") == {
        "type": "bind", "source": str(tmp_path), "target": "/x", "readonly": True}
    assert run_flags.parse_mount("source=data,target=/d")["type"] == "volume"
    tmpfs = run_flags.parse_mount("type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1777")
    assert (tmpfs["tmpfs_size"], tmpfs["tmpfs_mode"]) == (64 << 20, "1777")
    assert run_flags.parse_mount('"type=bind","source=' + str(tmp_path) + '","target=/a,b"')["target"] == "/a,b"


@pytest.mark.parametrize(("text", "words"), [
    ("type=nfs,target=/x", 'invalid mount config for type "nfs": mount type unknown'),
    ("type=volume", "field Target must not be empty"),
    ("type=volume,target=rel", "mount path must be absolute"),
    ("target=/x,colour=red", "unexpected key 'colour' in 'colour=red'"),
    ("type=tmpfs,source=x,target=/t", "field Source must not be specified"),
    ("type=tmpfs,target=/t,tmpfs-mode=9", "invalid value for tmpfs-mode: 9"),
    ("type=bind,target=/t,readonly=maybe", "invalid value for readonly: maybe"),
])
def test_mount_refused(text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        run_flags.parse_mount(text)


def test_tmpfs_options_keep_dockers_defaults_then_the_asked() -> None:
    assert run_flags.tmpfs_options("size=1m,exec") == "rw,noexec,nosuid,nodev,size=1m,exec"
    with pytest.raises(UsageError, match="invalid tmpfs option 'bogus'"):
        run_flags.tmpfs_options("bogus")


def test_tmpfs_options_become_flags_and_data() -> None:
    from mydocker.core import syscalls as sc
    from mydocker.core.tmpfs import split_options

    flags, data = split_options("rw,noexec,nosuid,nodev,size=1m,exec,ro")
    assert flags == sc.MS_NOSUID | sc.MS_NODEV | sc.MS_RDONLY and data == "size=1m"


def test_labels_file_then_flags_later_wins(tmp_path) -> None:
    path = tmp_path / "l"
    path.write_text("a=1\n# comment\n\nb\n")
    args = argparse.Namespace(label_file=[str(path)], label=["a=2", "c=x=y"])
    assert run_flags.labels(args) == {"a": "2", "b": "", "c": "x=y"}
    with pytest.raises(UsageError, match="open /never/was: no such file or directory"):
        run_flags.labels(argparse.Namespace(label_file=["/never/was"], label=[]))


def test_exposed_ports_from_ranges_and_published() -> None:
    args = argparse.Namespace(expose=["7000", "7100-7101/udp"])
    assert run_flags.exposed(args, [{"container_port": 80, "proto": "tcp"}]) == [
        "80/tcp", "7000/tcp", "7100/udp", "7101/udp"]
    with pytest.raises(UsageError, match="invalid range format for --expose: abc"):
        run_flags.parse_expose("abc")


def test_publish_all_picks_distinct_free_ports() -> None:
    args = argparse.Namespace(publish_all=True, expose=["7000", "7001"])
    ports = run_flags.publish([{"host_ip": "", "host_port": 0, "container_port": 80, "proto": "tcp"}], args)
    assert [p["container_port"] for p in ports] == [80, 7000, 7001]
    assert all(p["host_port"] > 0 for p in ports) and len({p["host_port"] for p in ports}) == 3


# --- ps filters ---------------------------------------------------------------------


def view(name: str, state: str = "running", labels: dict[str, str] | None = None, exit_code: int | None = None,
         created: str = "2026-01-01T00:00:00.000000Z") -> ContainerView:
    config = {"labels": labels or {}, "spec": {"mounts": [], "network": "none"}, "network": {"name": "none"}}
    return ContainerView({"id": name * 8, "name": name, "state": state, "exit_code": exit_code,
                          "config": json.dumps(config), "image_id": "sha256:x", "created_at": created})


@pytest.mark.parametrize(("texts", "words", "code"), [
    (["status=zombie"], "Invalid filter 'status=zombie'", 1),
    (["colour=red"], "Invalid filter 'colour'", 1),
    (["exited=x"], 'strconv.Atoi: parsing "x": invalid syntax', 1),
    (["health=great"], "Unrecognised filter value for health: great", 1),
    (["status"], "bad format of filter (expected name=value)", 125),
])
def test_filter_parse_errors(texts: list[str], words: str, code: int) -> None:
    with pytest.raises(UserError) as caught:
        container_filters.parse(texts)
    from mydocker.cli.errors import exit_code

    assert words in str(caught.value) and exit_code(caught.value, "ps") == code


def test_same_key_ors_labels_and_different_keys_and() -> None:
    views = [view("aa", labels={"t": "web", "x": "1"}), view("bb", "stopped", {"t": "db"}, exit_code=3),
             view("cc", "created", {"t": "web"})]

    def names(*texts: str) -> list[str]:
        return [v.name for v in container_filters.select(None, views, container_filters.parse(list(texts)),  # type: ignore[arg-type]
                                                        lambda ref: set())]

    assert names("status=running", "status=created") == ["aa", "cc"]
    assert names("label=t=web", "status=created") == ["cc"]
    assert names("label=t=web", "label=x") == ["aa"]  # every label must hold
    assert names("label=t=web", "label=t=db") == []
    assert names("exited=3") == ["bb"]
    assert names("name=^b") == ["bb"]
    assert names("id=cccc") == ["cc"]
    assert container_filters.implies_all(container_filters.parse(["status=exited"]))
