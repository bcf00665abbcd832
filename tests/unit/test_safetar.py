"""The safe extractor against hostile archives: nothing may land outside the target."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mydocker.core import images, safetar


def build(entries: list[tuple[str, str, object]], gz: bool = False) -> io.BytesIO:
    """entries: (kind, name, data) with kind file|dir|symlink|hardlink|fifo|chr."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, data in entries:
            info = tarfile.TarInfo(name)
            info.mode = 0o644
            if kind == "file":
                payload = str(data).encode()
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}[kind]
            if kind in ("symlink", "hardlink"):
                info.linkname = str(data)
            if kind == "dir":
                info.mode = 0o755
            tar.addfile(info)
    data = raw.getvalue()
    return io.BytesIO(gzip.compress(data) if gz else data)


@pytest.fixture
def box(tmp_path: Path) -> tuple[Path, Path]:
    """(target, a sentinel tree beside it that must never change)."""
    target = tmp_path / "box" / "target"
    target.mkdir(parents=True)
    outside = tmp_path / "box" / "outside"
    outside.mkdir()
    (outside / "keep").write_text("untouched")
    return target, outside


def snapshot(path: Path) -> list[tuple[str, bytes]]:
    out = []
    for dirpath, dirs, files in os.walk(path):
        for name in sorted(dirs + files):
            full = os.path.join(dirpath, name)
            content = b"" if os.path.isdir(full) or os.path.islink(full) else open(full, "rb").read()
            out.append((os.path.relpath(full, path), content))
    return sorted(out)


def test_plain_layer_extracts_and_reports_its_diff_id(box):
    target, _ = box
    archive = build([("dir", "etc", None), ("file", "etc/hosts", "h"), ("symlink", "etc/link", "/etc/hosts"),
                     ("hardlink", "etc/again", "etc/hosts")])
    expected = "sha256:" + __import__("hashlib").sha256(archive.getvalue()).hexdigest()
    assert safetar.extract(archive, target) == expected
    assert (target / "etc/hosts").read_text() == "h"
    assert os.readlink(target / "etc/link") == "/etc/hosts"
    assert os.stat(target / "etc/again").st_ino == os.stat(target / "etc/hosts").st_ino


def test_gzip_is_detected_and_hashed_uncompressed(box):
    target, _ = box
    plain = build([("file", "a", "x")])
    zipped = build([("file", "a", "x")], gz=True)
    assert safetar.extract(zipped, target) == safetar.extract(plain, target)


@pytest.mark.parametrize("name", ["../escape", "a/../../escape", "/abs/escape", "./../escape"])
def test_dotdot_and_absolute_names_are_refused(box, name):
    target, outside = box
    with pytest.raises(safetar.UnsafeArchive):
        safetar.extract(build([("file", name, "evil")]), target)
    assert not (target.parent / "escape").exists()
    assert snapshot(outside) == [("keep", b"untouched")]


def test_file_through_a_planted_symlink_is_refused(box):
    target, outside = box
    archive = build([("symlink", "evil", str(outside)), ("file", "evil/keep", "pwned")])
    with pytest.raises(safetar.UnsafeArchive):
        safetar.extract(archive, target)
    assert (outside / "keep").read_text() == "untouched"


def test_relative_symlink_out_then_write_is_refused(box):
    target, outside = box
    archive = build([("symlink", "up", "../outside"), ("file", "up/new", "pwned")])
    with pytest.raises(safetar.UnsafeArchive):
        safetar.extract(archive, target)
    assert not (outside / "new").exists()


def test_symlink_replaced_by_file_does_not_write_through_it(box):
    target, outside = box
    archive = build([("symlink", "f", str(outside / "keep")), ("file", "f", "pwned")])
    safetar.extract(archive, target)
    assert (outside / "keep").read_text() == "untouched"
    assert (target / "f").read_text() == "pwned" and not (target / "f").is_symlink()


def test_hardlink_to_outside_is_refused(box):
    target, outside = box
    for link in (str(outside / "keep"), "../outside/keep"):
        with pytest.raises(safetar.UnsafeArchive):
            safetar.extract(build([("hardlink", "h", link)]), target)
    assert os.stat(outside / "keep").st_nlink == 1


def test_hardlink_through_symlink_is_refused(box):
    target, outside = box
    archive = build([("symlink", "s", str(outside)), ("hardlink", "h", "s/keep")])
    with pytest.raises(safetar.UnsafeArchive):
        safetar.extract(archive, target)
    assert os.stat(outside / "keep").st_nlink == 1


@pytest.mark.parametrize("kind", ["fifo", "chr"])
def test_devices_and_fifos_are_refused(box, kind):
    target, _ = box
    with pytest.raises(safetar.UnsafeArchive):
        safetar.extract(build([(kind, "dev/thing", None)]), target)


def test_whiteouts_become_overlay_whiteouts(box):
    if os.geteuid() != 0:
        pytest.skip("mknod and trusted xattrs need root")
    target, _ = box
    archive = build([("dir", "etc", None), ("file", "etc/.wh.gone", ""), ("dir", "opt", None),
                     ("file", "opt/.wh..wh..opq", ""), ("file", "opt/new", "n")])
    safetar.extract(archive, target)
    st_ = os.lstat(target / "etc/gone")
    assert stat.S_ISCHR(st_.st_mode) and st_.st_rdev == 0
    assert os.getxattr(target / "opt", safetar.OPAQUE_XATTR) == b"y"
    assert not (target / "etc/.wh.gone").exists()
    # and our tar writer turns them back into docker's form
    buf = io.BytesIO()
    images.write_tree(target, buf)
    names = tarfile.open(fileobj=io.BytesIO(buf.getvalue())).getnames()
    assert "etc/.wh.gone" in names and "opt/.wh..wh..opq" in names and "etc/gone" not in names


def test_whiteouts_skipped_for_plain_rootfs(box):
    target, _ = box
    safetar.extract(build([("file", ".wh.x", "")]), target, whiteouts="skip")
    assert list(target.iterdir()) == []


def test_garbage_is_refused(box):
    target, _ = box
    with pytest.raises(safetar.UnsafeArchive):
        safetar.extract(io.BytesIO(b"this is not a tar archive at all" * 40), target)


_segment = st.sampled_from(["..", ".", "a", "b", "evil", "", "/", "outside", "keep"])
_name = st.lists(_segment, min_size=1, max_size=5).map("/".join)
_link_target = st.one_of(_name, st.sampled_from(["/", "/etc", "..", "../outside", "../outside/keep"]))
_entry = st.tuples(st.sampled_from(["file", "dir", "symlink", "hardlink"]), _name, _link_target)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(_entry, min_size=1, max_size=8))
def test_hypothesis_hostile_archives_never_write_outside(tmp_path_factory, entries):
    base = tmp_path_factory.mktemp("hyp")
    target = base / "target"
    target.mkdir()
    outside = base / "outside"
    outside.mkdir()
    (outside / "keep").write_text("untouched")
    before = snapshot(base / "outside")
    try:
        safetar.extract(build(entries), target)
    except (safetar.UnsafeArchive, OSError):
        pass  # refusing is fine; writing outside is not
    assert snapshot(base / "outside") == before
    assert sorted(p.name for p in base.iterdir()) == ["outside", "target"]
    assert os.stat(outside / "keep").st_nlink == 1
