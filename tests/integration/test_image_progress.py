"""Progress of load (docker's "Loading layer" bars), save and import on a
terminal, and none of it when the output is not a terminal or with -q."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.integration.conftest import PtySession
from tests.integration.registry_server import tar_of

_ESCAPES = re.compile(rb"\x1b\[[0-9]*[A-Za-z]|\r")


def test_load_save_import_progress_only_on_a_terminal(md, md2, tmp_path: Path) -> None:
    big = tar_of({f"data/f{i}": os.urandom(256 << 10) for i in range(16)})  # 4 MiB: several draws
    (tmp_path / "big.tar").write_bytes(big)
    image = md.ok("import", str(tmp_path / "big.tar"), "big:1").strip()
    archive = tmp_path / "saved.tar"

    session = PtySession(md.root, "save", "-o", str(archive), "big:1")
    assert session.exit_code() == 0 and archive.exists()
    md.ok("save", "-o", str(tmp_path / "quiet.tar"), "big:1")
    assert (tmp_path / "quiet.tar").read_bytes() == archive.read_bytes()

    session = PtySession(md2.root, "load", "-i", str(archive))
    session.read_until(b"Loaded image: big:1")
    assert session.exit_code() == 0
    short = image.split(":")[1][:12]
    layer = md2.inspect("big:1")["RootFS"]["Layers"][0].split(":")[1][:12]
    assert f"{layer}: Loading layer [".encode() in session.output
    assert b"=>]" in session.output  # the full bar, docker's arrow kept
    assert md2.ok("images", "-q", "big:1").strip() == short
    md2.ok("rmi", "big:1")
    assert md2.ok("load", "-i", str(archive)) == "Loaded image: big:1\n"  # not a terminal: no bars
    md2.ok("rmi", "big:1")

    session = PtySession(md2.root, "import", str(tmp_path / "big.tar"), "again:1")
    session.read_until(b"sha256:")
    assert session.exit_code() == 0
    assert b"Importing [" in session.output
    # the bar is erased: what stays on the screen is docker's output, the id alone
    shown = _ESCAPES.sub(b"", session.output.rsplit(b"\x1b[2K", 1)[-1]).strip()
    assert shown == md2.inspect("again:1")["Id"].encode()
    md2.ok("rmi", "again:1")
    md.ok("rmi", "big:1")


def test_commit_and_export_progress_on_a_terminal(md, tmp_path: Path) -> None:
    md.ok("run", "--name", "filled", "--network", "none", "busybox", "sh", "-c",
          "dd if=/dev/urandom of=/blob bs=1M count=4 2>/dev/null")
    session = PtySession(md.root, "commit", "filled", "filled:1")
    session.read_until(b"sha256:")
    assert session.exit_code() == 0
    assert b"Committing [" in session.output
    shown = _ESCAPES.sub(b"", session.output.rsplit(b"\x1b[2K", 1)[-1]).strip()
    assert shown == md.inspect("filled:1")["Id"].encode()

    exported = tmp_path / "filled.tar"
    session = PtySession(md.root, "export", "-o", str(exported), "filled")
    session.read_until(b"Exporting ")
    assert session.exit_code() == 0
    quiet = tmp_path / "quiet.tar"
    md.ok("export", "-o", str(quiet), "filled")
    assert exported.stat().st_size == quiet.stat().st_size > 4 << 20  # the same tar through the pipe
    md.ok("rm", "filled")
    md.ok("rmi", "filled:1")
