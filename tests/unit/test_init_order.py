"""core.init's order against the monitor: it mounts its rootfs between "R" (its
namespaces exist) and "G" (the monitor joined its cgroups and made its network),
so that work overlaps the monitor's; the /etc binds and pivot_root wait for "G"
(the monitor writes those files), and a mount that failed early is reported only
after "G", as before. Syscalls and rootfs faked: no root, no kernel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mydocker.core import init, rootfs
from mydocker.core.spec import ContainerSpec

from tests.fakes import CallLog, FakeSyscalls


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    log: list[str] = []
    FakeSyscalls(CallLog()).install(monkeypatch)
    monkeypatch.setattr(rootfs, "mount_base", lambda spec: log.append("mount_base"))
    monkeypatch.setattr(rootfs, "finish", lambda spec: log.append("finish"))
    monkeypatch.setattr(os, "chdir", lambda path: log.append("chdir"))
    return log


def spec_at(tmp_path: Path) -> ContainerSpec:
    return ContainerSpec(id="f" * 64, root=str(tmp_path), argv=["true"], env=[], hostname="box", layers=[],
                         workdir=str(tmp_path))


def pipes() -> tuple[init.InitPipes, int, int]:
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    return init.InitPipes(ready_w, go_r, -1, -1, -1, -1), ready_r, go_w


def test_the_rootfs_is_mounted_between_ready_and_go(steps: list[str], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    p, ready_r, go_w = pipes()
    real_read = os.read

    def read(fd: int, n: int) -> bytes:
        if fd == p.go_r:  # the monitor answers only once it has seen "R"
            assert real_read(ready_r, 1) == b"R"
            steps.append("G")
            os.write(go_w, b"G")
        return real_read(fd, n)

    monkeypatch.setattr(os, "read", read)
    init._prepare(spec_at(tmp_path), p)
    assert steps == ["mount_base", "G", "finish", "chdir"]


def test_an_early_mount_failure_waits_for_go(steps: list[str], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(spec: ContainerSpec) -> None:
        steps.append("mount_base")
        raise OSError(22, "overlay refused")

    monkeypatch.setattr(rootfs, "mount_base", fail)
    p, ready_r, go_w = pipes()
    os.write(go_w, b"G")
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: (steps.append("G") if fd == p.go_r else None) or real_read(fd, n))
    with pytest.raises(OSError, match="overlay refused"):
        init._prepare(spec_at(tmp_path), p)
    assert steps == ["mount_base", "G"]  # reported after go, where the monitor looks for it; nothing more done
