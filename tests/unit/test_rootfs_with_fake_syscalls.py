"""core.rootfs.setup with core.syscalls faked: which mounts, in which order, with
which flags, and the pivot_root(".", ".") dance. No root, no kernel."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from mydocker.core import rootfs
from mydocker.core import syscalls as sc
from mydocker.core.spec import ContainerSpec

from tests.fakes import Call, CallLog, FakeOS, FakeSyscalls

CID = "f" * 64


@pytest.fixture
def spec(tmp_path: Path) -> ContainerSpec:
    root = tmp_path / "state"
    layers = [str(tmp_path / "layers" / name) for name in ("base", "middle", "top")]  # lowest first
    s = ContainerSpec(id=CID, root=str(root), argv=["sh"], env=[], hostname="box", layers=layers)
    (s.directory / "merged").mkdir(parents=True)
    return s


@pytest.fixture
def log() -> CallLog:
    return CallLog()


@pytest.fixture
def fake_sc(monkeypatch: pytest.MonkeyPatch, log: CallLog) -> FakeSyscalls:
    return FakeSyscalls(log).install(monkeypatch)


@pytest.fixture
def fake_os(monkeypatch: pytest.MonkeyPatch, log: CallLog) -> FakeOS:
    return FakeOS(log).install(monkeypatch)


def test_the_fake_replaces_what_rootfs_calls(fake_sc: FakeSyscalls) -> None:
    assert rootfs.sc is sc
    assert rootfs.sc.mount == fake_sc.mount
    assert rootfs.sc.pivot_root == fake_sc.pivot_root
    sc.unshare(sc.CLONE_NEWNS | sc.CLONE_NEWUTS)
    sc.sethostname("box")
    assert fake_sc.log == [Call("unshare", (sc.CLONE_NEWNS | sc.CLONE_NEWUTS,)), Call("sethostname", ("box",))]


def test_overlay_options_list_lower_layers_top_first(spec: ContainerSpec) -> None:
    top, middle, base = reversed(spec.layers)
    assert rootfs.overlay_options(spec) == (
        f"lowerdir={top}:{middle}:{base},upperdir={spec.directory / 'upper'},workdir={spec.directory / 'work'}"
    )


def test_overlay_options_single_layer(spec: ContainerSpec) -> None:
    spec.layers = ["/l/only"]
    options = dict(part.split("=", 1) for part in rootfs.overlay_options(spec).split(","))
    assert options == {"lowerdir": "/l/only", "upperdir": str(spec.directory / "upper"),
                       "workdir": str(spec.directory / "work")}


def test_setup_mounts_in_order_then_pivots(spec: ContainerSpec, fake_sc: FakeSyscalls, fake_os: FakeOS,
                                           log: CallLog) -> None:
    cwd = os.getcwd()
    rootfs.setup(spec)
    assert os.getcwd() == cwd, "the fake chdir must not move the test process"

    merged = spec.directory / "merged"
    mounts = [(c.args[0], c.args[1], c.args[2]) for c in fake_sc.mounts]
    assert mounts == [
        (None, "/", None),
        ("overlay", str(merged), "overlay"),
        ("proc", str(merged / "proc"), "proc"),
        ("sysfs", str(merged / "sys"), "sysfs"),
        ("tmpfs", str(merged / "dev"), "tmpfs"),
        ("devpts", str(merged / "dev" / "pts"), "devpts"),
        ("shm", str(merged / "dev" / "shm"), "tmpfs"),
    ]
    flags = {c.args[1]: c.args[3] for c in fake_sc.mounts}
    data = {c.args[1]: c.args[4] for c in fake_sc.mounts}

    # / becomes rprivate first, so nothing below propagates back to the host
    assert flags["/"] == sc.MS_REC | sc.MS_PRIVATE
    # overlay: lower layers top first
    top, middle, base = reversed(spec.layers)
    assert data[str(merged)].startswith(f"lowerdir={top}:{middle}:{base},")
    assert data[str(merged)] == rootfs.overlay_options(spec)
    # proc and sysfs: no suid, no devices, no exec; sysfs read-only
    assert flags[str(merged / "proc")] & (sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC) == (
        sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    assert not flags[str(merged / "proc")] & sc.MS_RDONLY
    assert flags[str(merged / "sys")] & sc.MS_RDONLY
    # /dev is a tmpfs without suid; devpts a new instance; shm world-writable and sticky
    assert flags[str(merged / "dev")] & sc.MS_NOSUID
    assert "mode=755" in data[str(merged / "dev")]
    assert "newinstance" in data[str(merged / "dev" / "pts")]
    assert "ptmxmode=0666" in data[str(merged / "dev" / "pts")]
    assert "mode=1777" in data[str(merged / "dev" / "shm")]

    # the pivot: after every mount, chdir into the new root, pivot_root(".", "."),
    # fchdir to the old root, detach it, then chdir("/")
    tail = [c for c in log if c.name in ("open", "chdir", "pivot_root", "fchdir", "umount", "close")]
    assert [(c.name, *c.args) for c in tail] == [
        ("open", "/", os.O_DIRECTORY | os.O_RDONLY),
        ("chdir", str(merged)),
        ("pivot_root", ".", "."),
        ("fchdir", FakeOS.FAKE_FD),
        ("umount", ".", sc.MNT_DETACH),
        ("close", FakeOS.FAKE_FD),
        ("chdir", "/"),
    ]
    last_mount = max(i for i, c in enumerate(log) if c.name == "mount")
    assert last_mount < log.index(Call("pivot_root", (".", ".")))
    assert log.names()[-1] == "chdir"


def test_setup_creates_devices_and_links(spec: ContainerSpec, fake_sc: FakeSyscalls, fake_os: FakeOS,
                                         log: CallLog) -> None:
    rootfs.setup(spec)
    dev = spec.directory / "merged" / "dev"
    made = {Path(c.args[0]).name: c.args for c in log.of("mknod")}
    assert set(made) == {"null", "zero", "full", "random", "urandom", "tty"}
    for name, (major, minor) in rootfs.DEVICES.items():
        _, mode, device = made[name]
        assert stat.S_ISCHR(mode)
        assert (os.major(device), os.minor(device)) == (major, minor)
        assert stat.S_IMODE((dev / name).stat().st_mode) == 0o666  # chmod after mknod, despite the umask
    assert (os.major(made["null"][2]), os.minor(made["null"][2])) == (1, 3)
    assert os.readlink(dev / "ptmx") == "pts/ptmx"
    assert {n: os.readlink(dev / n) for n in ("fd", "stdin", "stdout", "stderr")} == {
        "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
    # devices are made after /dev is mounted, pts/shm dirs exist for their mounts
    first_mknod = log.names().index("mknod")
    dev_mount = log.index(next(c for c in fake_sc.mounts if c.args[1] == str(dev)))
    assert dev_mount < first_mknod
    assert (dev / "pts").is_dir() and (dev / "shm").is_dir()
    for d in ("proc", "sys", "dev"):
        assert (spec.directory / "merged" / d).is_dir()


def test_setup_runs_again_on_an_existing_upper(spec: ContainerSpec, fake_sc: FakeSyscalls, fake_os: FakeOS) -> None:
    """stop/start reuses the container's directories: proc/sys/dev already there."""
    merged = spec.directory / "merged"
    for d in ("proc", "sys"):
        (merged / d).mkdir()
    (merged / "dev").mkdir()
    rootfs.setup(spec)
    assert len(fake_sc.mounts) == 7


def test_a_failing_mount_stops_before_pivot(spec: ContainerSpec, fake_sc: FakeSyscalls, fake_os: FakeOS,
                                            log: CallLog) -> None:
    fake_sc.fail["mount"] = OSError(1, "mount: Operation not permitted")
    with pytest.raises(OSError):
        rootfs.setup(spec)
    assert log.names() == ["mount"]
    assert not log.of("pivot_root")
