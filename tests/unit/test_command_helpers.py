"""Pure helpers behind the issue-10 commands: sizes, prune filters, diff's
classification, ps options for top, cp's destination rules."""

from __future__ import annotations

import io
import os
import tarfile

import pytest
from mydocker.cli.prune import matcher, parse_until
from mydocker.cli.sizes import bytes_size, human_size
from mydocker.core import copy
from mydocker.core.changes import changes
from mydocker.core.proctable import _all_processes
from mydocker.statemachine.errors import UserError


@pytest.mark.parametrize(("size", "human", "binary"), [
    (0, "0B", "0B"), (3, "3B", "3B"), (1984000, "1.984MB", "1.892MiB"), (401408, "401.4kB", "392KiB"),
    (25275000000, "25.27GB", "23.54GiB"),
])
def test_sizes_read_as_docker_prints_them(size: int, human: str, binary: str) -> None:
    assert human_size(size) == human
    assert bytes_size(size) == binary
    assert human_size(1984000, 3) == "1.98MB"


def test_until_takes_go_durations_unix_and_rfc3339() -> None:
    now = 1_000_000.0
    assert parse_until("1h30m", now) == now - 5400
    assert parse_until("10s", now) == now - 10
    assert parse_until("1700000000", now) == 1_700_000_000
    assert parse_until("2026-01-01T00:00:00Z", now) == 1767225600
    with pytest.raises(UserError, match='failed to parse value as time or duration: "soon"'):
        parse_until("soon", now)


def test_prune_filters_combine_until_and_labels() -> None:
    match = matcher(["until=2026-01-02T00:00:00Z", "label=tier=web", "label!=keep"])
    assert match("2026-01-01T00:00:00.000000Z", {"tier": "web"})
    assert not match("2026-01-03T00:00:00.000000Z", {"tier": "web"}), "created after until"
    assert not match("2026-01-01T00:00:00.000000Z", {"tier": "db"})
    assert not match("2026-01-01T00:00:00.000000Z", {"tier": "web", "keep": ""})
    with pytest.raises(UserError, match="Invalid filter 'foo'"):
        matcher(["foo=bar"])


def test_top_adds_a_selection_only_when_the_options_have_none() -> None:
    assert _all_processes(["-o", "pid,comm"]) == ["-e", "-o", "pid,comm"]
    assert _all_processes(["-ef"]) == ["-ef"]
    assert _all_processes(["aux"]) == ["aux"]
    assert _all_processes(["-A", "-o", "pid"]) == ["-A", "-o", "pid"]


def test_diff_classifies_added_changed_and_skips_the_runtime_files(tmp_path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for d in ("etc", "bin", "usr/lib"):
        (lower / d).mkdir(parents=True)
    (lower / "etc" / "passwd").write_text("root\n")
    (lower / "usr" / "lib" / "x").write_text("x")
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "passwd").write_text("root\nme\n")
    (upper / "etc" / "hosts").write_text("")  # the runtime's mount point, not a change
    (upper / "new" / "deep").mkdir(parents=True)
    (upper / "new" / "deep" / "f").write_text("")
    (upper / "usr").mkdir()  # copied up, nothing changed under it
    assert changes(str(upper), [str(lower)]) == [
        ("C", "/etc"), ("C", "/etc/passwd"), ("A", "/new"), ("A", "/new/deep"), ("A", "/new/deep/f")]
    assert changes(str(tmp_path / "absent"), [str(lower)]) == []


def _root(tmp_path):
    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    (root / "file").write_text("f")
    os.symlink("/", root / "escape")
    return os.open(root, os.O_PATH | os.O_DIRECTORY)


def test_cp_destination_rules(tmp_path) -> None:
    root_fd = _root(tmp_path)
    try:
        fd, rename = copy.plan_destination(root_fd, "/dir", False, "a", container_side=True)
        assert rename is None  # an existing directory receives the copy under its name
        os.close(fd)
        fd, rename = copy.plan_destination(root_fd, "/dir/new", True, "a", container_side=True)
        assert rename == "new"  # a missing path becomes the copy
        os.close(fd)
        fd, rename = copy.plan_destination(root_fd, "/file", False, "a", container_side=True)
        assert rename == "file"  # a file is replaced
        os.close(fd)
        with pytest.raises(copy.CopyError, match="cannot copy a directory to a file"):
            copy.plan_destination(root_fd, "/file", True, "a", container_side=True)
        with pytest.raises(copy.CopyError, match="no such directory"):
            copy.plan_destination(root_fd, "/missing/x", False, "a", container_side=True)
        # a symlink to / resolves to the root itself, never the host's /
        fd, rename = copy.plan_destination(root_fd, "/escape/../..", False, "a", container_side=True)
        assert os.path.samestat(os.fstat(fd), os.stat(tmp_path / "root"))
        os.close(fd)
    finally:
        os.close(root_fd)


@pytest.mark.skipif(os.geteuid() != 0, reason="extraction gives files to root (uid 0)")
def test_cp_archive_of_a_tree_and_extraction_keep_content(tmp_path) -> None:
    root_fd = _root(tmp_path)
    (tmp_path / "root" / "dir" / "inner").write_text("inside")
    try:
        fd, name = copy.open_source(root_fd, "/dir", follow=False)
        buffer = io.BytesIO()
        copy.write_archive(buffer, fd, name, contents_only=False, keep_owner=False)
        os.close(fd)
        buffer.seek(0)
        with tarfile.open(fileobj=buffer) as tar:
            assert sorted(tar.getnames()) == ["dir", "dir/inner"]
            assert all(m.uid == 0 for m in tar.getmembers())
        buffer.seek(0)
        target = tmp_path / "target"
        target.mkdir()
        out_fd = os.open(target, os.O_PATH | os.O_DIRECTORY)
        copy.extract_into(out_fd, buffer)
        os.close(out_fd)
        assert (target / "dir" / "inner").read_text() == "inside"
        with pytest.raises(copy.CopyError, match="Could not find the file"):
            copy.open_source(root_fd, "/nope", follow=False)
    finally:
        os.close(root_fd)
