"""COPY/ADD source checksums against the ones docker 20.10's classic builder
printed in `docker history` for a context of exactly these files and modes."""

from __future__ import annotations

import os
from pathlib import Path

from mydocker.core import copyhash, dockerignore

# (docker build of the same context, DOCKER_BUILDKIT=0, then history --no-trunc)
DOCKER = {
    ("a.txt",): "file:679c43c79a56cffbb3b002bda3050542c152a2f09757a0f1a9578871f7cda00d",
    ("sub",): "dir:7845bcf67c3703dedde6914404f305b3d09cd4234d364570a2a27a3dcd56cdd9",
    ("sub/deep",): "dir:b3937b3168318da1ff1056bc55cefa0fe22b6e955059acc37767db0e3241828a",
    ("e",): "dir:e30527798c6304592680df85500bb5343558b48ad22b0021854f4b68d9bbe783",
    ("l1",): "dir:521ca1d035ddaef925681dd141e972f49b1fec9652c12c5615b30cbf28b53f98",  # a symlink: its target
    ("l2",): "dir:13e7e031538543254bcb93dcf98275138fe9bad12292c2b2f9cc428cf833d6b4",  # a dangling one
    ("a.txt", "sub/b"): "multi:f5db0340d9e8058b5b79184a5a0de57961208addda60be55470bc3b5335158f9",
}


def make_context(root: Path) -> None:
    def write(rel: str, data: str, mode: int) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data)
        path.chmod(mode)

    write("a.txt", "hello\n", 0o644)
    write("sub/b", "x", 0o600)
    write("sub/deep/empty", "", 0o644)
    write("l1/f", "q", 0o644)
    write("l2/g", "z", 0o644)
    (root / "e").mkdir()
    os.symlink("f", root / "l1/link")
    os.symlink("nowhere", root / "l2/dangling")
    for d in ("sub", "sub/deep", "l1", "l2", "e"):
        (root / d).chmod(0o755)


def test_checksums_are_dockers(tmp_path: Path) -> None:
    make_context(tmp_path)
    for paths, want in DOCKER.items():
        assert copyhash.checksum(list(paths), str(tmp_path), [], True) == want, paths


def test_content_mode_and_ignored_files_change_it(tmp_path: Path) -> None:
    make_context(tmp_path)
    before = copyhash.checksum(["sub"], str(tmp_path), [], True)
    (tmp_path / "sub/b").chmod(0o644)
    assert copyhash.checksum(["sub"], str(tmp_path), [], True) != before
    (tmp_path / "sub/b").chmod(0o600)
    os.utime(tmp_path / "sub/b", (1, 1))  # docker's tarsum v1 leaves mtime out
    assert copyhash.checksum(["sub"], str(tmp_path), [], True) == before
    (tmp_path / "sub/junk").write_text("j")
    assert copyhash.checksum(["sub"], str(tmp_path), [], True) != before
    ignored = dockerignore.read("sub/junk\n")
    assert copyhash.checksum(["sub"], str(tmp_path), ignored, True) == before
