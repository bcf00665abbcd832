"""Container paths resolve inside the rootfs, whatever symlinks the image holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mydocker.core.securejoin import resolve


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "file").write_text("x")
    os.symlink("/etc/../../../..", root / "abs-up")
    os.symlink("../../../../..", root / "rel-up")
    os.symlink(str(tmp_path), root / "host")
    os.symlink("loop", root / "loop")
    return root


@pytest.mark.parametrize("path", ["/abs-up/data", "/rel-up/data", "/../../data", "/host/data", "data"])
def test_escapes_are_contained(rootfs, path):
    got = resolve(str(rootfs), path, create="dir")
    assert got.startswith(str(rootfs) + "/"), got
    assert os.path.isdir(got)
    assert not (rootfs.parent / "data").exists()


def test_host_symlink_is_not_followed_on_the_host(rootfs, tmp_path):
    # /host -> tmp_path exists on the host but not inside the rootfs
    with pytest.raises(FileNotFoundError):
        resolve(str(rootfs), "/host")
    os.symlink("/etc", rootfs / "etc-link")
    assert resolve(str(rootfs), "/etc-link") == str(rootfs / "etc")


def test_file_target_is_created_as_a_file(rootfs):
    got = resolve(str(rootfs), "/rel-up/conf/app.conf", create="file")
    assert got == str(rootfs / "conf/app.conf") and os.path.isfile(got)


def test_missing_without_create_fails(rootfs):
    with pytest.raises(FileNotFoundError):
        resolve(str(rootfs), "/nope")


def test_symlink_loop_and_file_component(rootfs):
    with pytest.raises(OSError):
        resolve(str(rootfs), "/loop/x", create="dir")
    with pytest.raises(NotADirectoryError):
        resolve(str(rootfs), "/file/x", create="dir")
