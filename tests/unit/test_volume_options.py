"""`volume create -o`: docker's option parsing and checks, the mount(2) calls a
volume's options become (core.syscalls faked), and the options kept in the log."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from mydocker.core import mount_options as mo
from mydocker.core import volumes as core_volumes
from mydocker.statemachine import volumes
from mydocker.statemachine.context import Context
from mydocker.store.db import connect

from tests.fakes import CallLog, FakeSyscalls


def test_options_read_as_dockers_cli_reads_them() -> None:
    assert volumes.parse_options(["type=tmpfs", "o=size=1m,uid=1000", "type=none", "foo"]) == \
        {"type": "none", "o": "size=1m,uid=1000", "foo": ""}
    assert volumes.parse_options([]) == {}


@pytest.mark.parametrize(("options", "refusal"), [
    ({"x": "1"}, 'create v: invalid option: "x"'),
    ({"type": "tmpfs", "device": "tmpfs", "Type": "x"}, 'create v: invalid option: "Type"'),
    ({"size": "1m"}, "create v: quota size requested but no quota support"),
    ({"device": "/dev/sda1"}, 'create v: missing required option: "type"'),
    ({"type": "tmpfs"}, 'create v: missing required option: "device"'),
    ({"o": "size=1m"}, 'create v: missing required option: "device"'),
    ({"o": "bind", "device": "/srv"}, 'create v: missing required option: "type"'),
])
def test_bad_options_are_refused_in_the_local_drivers_words(options: dict[str, str], refusal: str) -> None:
    with pytest.raises(volumes.InvalidOption) as caught:
        volumes.check_options("v", options)
    assert str(caught.value) == refusal


@pytest.mark.parametrize("options", [
    {"type": "tmpfs", "device": "tmpfs"},
    {"type": "tmpfs", "device": "tmpfs", "o": "size=1m,uid=1000"},
    {"type": "none", "device": "/srv", "o": "bind"},
    {"type": "ext4", "device": "/dev/vdb1"},  # refused at mount time by the kernel, as docker's
])
def test_good_options_pass(options: dict[str, str]) -> None:
    volumes.check_options("v", options)
    assert volumes.needs_mount(options)


def test_mount_words_become_flags_and_the_rest_data() -> None:
    assert mo.parse("size=1m,uid=1000") == (0, "size=1m,uid=1000")
    assert mo.parse("bind") == (mo.MS_BIND, "")
    assert mo.parse("rbind,ro,noexec,mode=0700") == (mo.MS_BIND | mo.MS_REC | mo.MS_RDONLY | mo.MS_NOEXEC,
                                                     "mode=0700")
    assert mo.parse("ro,rw,noexec,exec") == (0, "")  # later words win
    assert mo.parse("") == (0, "")


def test_a_refused_mount_reads_as_mobys() -> None:
    err = OSError(errno.ENOENT, "ignored")
    assert mo.describe("/nope", "/v/_data", mo.MS_BIND, "", err) == \
        "mount /nope:/v/_data, flags: 0x1000: no such file or directory"
    assert mo.describe("tmpfs", "/v/_data", 0, "bogus=1", OSError(errno.EINVAL, "x")) == \
        "mount tmpfs:/v/_data, data: bogus=1: invalid argument"


@pytest.fixture
def fake_sc(monkeypatch: pytest.MonkeyPatch) -> FakeSyscalls:
    return FakeSyscalls(CallLog()).install(monkeypatch)


def test_tmpfs_is_one_mount_with_the_o_options_as_data(fake_sc: FakeSyscalls, tmp_path: Path) -> None:
    core_volumes.mount(tmp_path, "v", "tmpfs", "tmpfs", "size=1m,uid=1000,noexec")
    target = str(core_volumes.data_dir(tmp_path, "v"))
    assert [c.args for c in fake_sc.mounts] == [("tmpfs", target, "tmpfs", mo.MS_NOEXEC, "size=1m,uid=1000")]


def test_a_read_only_bind_is_remounted_and_propagation_set_apart(fake_sc: FakeSyscalls, tmp_path: Path) -> None:
    core_volumes.mount(tmp_path, "v", "none", "/srv", "bind,ro,private")
    target = str(core_volumes.data_dir(tmp_path, "v"))
    plain = mo.MS_BIND | mo.MS_RDONLY
    assert [c.args for c in fake_sc.mounts] == [
        ("/srv", target, "none", plain, None),
        (None, target, None, mo.MS_PRIVATE, None),
        (None, target, None, plain | mo.MS_REMOUNT, None),
    ]


def test_a_failed_mount_is_dockers_error(fake_sc: FakeSyscalls, tmp_path: Path) -> None:
    fake_sc.fail["mount"] = OSError(errno.ENODEV, "mount: No such device")
    with pytest.raises(core_volumes.MountError) as caught:
        core_volumes.mount(tmp_path, "v", "nfs", "server:/x", "addr=10.0.0.1")
    assert str(caught.value) == \
        f"mount server:/x:{core_volumes.data_dir(tmp_path, 'v')}, data: addr=10.0.0.1: no such device"


@pytest.fixture
def ctx(tmp_path: Path):
    context = Context(str(tmp_path / "state"), "test", _conn=connect(tmp_path / "state"))
    yield context
    context.close()


def test_options_are_in_the_create_event_and_shown_as_docker_shows_them(ctx: Context) -> None:
    options = {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    volumes.ensure(ctx, "fast", options=options)
    volumes.ensure(ctx, "plain", options={})  # the CLI without -o: docker says {}
    volumes.ensure(ctx, "byrun")  # made by `-v byrun:/x`: null
    (payload,) = ctx.conn.execute("SELECT payload FROM events WHERE stream_id = 'fast'").fetchone()
    assert json.loads(payload)["options"] == options
    shown = {row["id"]: volumes.inspect(row)["Options"] for row in volumes.list_all(ctx.conn)}
    assert shown == {"byrun": None, "fast": options, "plain": {}}
    found = volumes.find(ctx.conn, "fast")
    assert found is not None and volumes.inspect(found)["Options"] == options
    # asked again with other options: the volume stays as it was made (docker 20.10)
    volumes.ensure(ctx, "fast", options={"type": "tmpfs", "device": "tmpfs", "o": "size=9m"})
    assert volumes.options_of(volumes.find(ctx.conn, "fast") or {}) == options


def test_bad_options_make_nothing(ctx: Context) -> None:
    with pytest.raises(volumes.InvalidOption):
        volumes.ensure(ctx, "bad", options={"colour": "red"})
    assert volumes.find(ctx.conn, "bad") is None
    assert ctx.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    assert not (Path(ctx.root) / "volumes" / "bad").exists()
