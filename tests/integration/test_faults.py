"""Faults a user meets: the disk under ROOT fills up, the database file is damaged.

The disk-full tests put ROOT on a small tmpfs of their own (mounted in the test's
tmp dir, unmounted after) and fill it with plain files; every host object the
containers made is checked before the unmount."""

from __future__ import annotations

import os
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.integration.conftest import find_leaks

RESERVE = 8 << 20


@pytest.fixture
def small_root(md):
    """ROOT on a 48 MiB tmpfs; yields the runtime and a fill() that takes every free byte."""
    md.root.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", str(md.root)], check=True)
    filler = md.root / "filler"  # one file, made while there is room: a new file may not fit later

    def fill() -> None:
        with open(filler, "ab", buffering=0) as f:
            chunk = b"\1" * 4096
            try:
                while True:
                    f.write(chunk)
            except OSError:
                pass
        assert os.statvfs(md.root).f_bavail == 0

    def unfill() -> None:
        filler.unlink(missing_ok=True)

    try:
        yield md, fill, unfill
        unfill()
        ids = md.ok("ps", "-aq").split()
        if ids:
            md.ok("rm", "-f", *ids)
        mine = f"mount: {md.root}"
        leaks = [leak for leak in find_leaks(md.root) if leak != mine]
        assert not leaks, leaks
    finally:
        unfill()
        _unmount(md.root)


def _unmount(path: Path) -> None:
    # A monitor that just recorded its container's removal may hold a file there
    # for a moment more while it exits.
    for _ in range(100):
        if subprocess.run(["umount", str(path)], capture_output=True).returncode == 0:
            return
        time.sleep(0.05)
    holders = ""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(str(path)):
                    holders += f"pid {pid} fd {fd} {os.readlink(f'/proc/{pid}/fd/{fd}')}\n"
            if os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt") and \
                    str(path) in open(f"/proc/{pid}/mountinfo").read():
                holders += f"pid {pid} ({open(f'/proc/{pid}/cmdline').read()!r}) mounts it\n"
        except OSError:
            continue
    subprocess.run(["umount", "-l", str(path)], check=False)
    pytest.fail(f"{path} was still busy after the test:\n{holders}")


def _event_count(md) -> int:
    return md.ok("events", "--since", "2000-01-01", "--until", "0s").count("\n")


def _state(md) -> tuple[str, ...]:
    return (md.ok("ps", "-aq", "--no-trunc"), md.ok("inspect", "-f", "{{.State.Status}}", "keep", "gone"),
            md.ok("images", "-q"), md.ok("volume", "ls", "-q"))


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("Error: "), err
    return err


def test_full_disk_reads_answer_frees_work_other_writes_change_nothing(small_root):
    md, fill, unfill = small_root
    none = ("--network", "none")
    md.ok("run", "-d", "--name", "keep", *none, "busybox", "sh", "-c", "echo hello; sleep 1000")
    md.ok("run", "--name", "gone", *none, "busybox", "true")
    md.ok("run", "--name", "bulky", *none, "busybox", "dd", "if=/dev/zero", "of=/bulk", "bs=1M", "count=4")
    md.ok("volume", "create", "vol1")
    md.ok("tag", "busybox", "other:1")
    assert (md.root / "reserve").stat().st_size == RESERVE
    fill()

    # Reading commands answer.
    assert "keep" in md.ok("ps", "-a")
    assert md.ok("inspect", "-f", "{{.State.Status}}", "keep") == "running\n"
    assert md.ok("logs", "keep") == "hello\n"
    assert "vol1" in md.ok("volume", "ls")
    assert "other" in md.ok("images")
    events, state = _event_count(md), _state(md)

    # Other writes: one line, and nothing changed, not even half.
    for args, code in [(("run", "--rm", *none, "busybox", "true"), 125),
                       (("create", *none, "busybox"), 125),
                       (("volume", "create", "vol2"), 1),
                       (("tag", "busybox", "more:1"), 1),
                       (("stop", "-t", "1", "keep"), 1),
                       (("start", "gone"), 1)]:
        fill()
        result = md(*args)
        assert result.code == code, (args, result)
        assert "no space left on" in _one_line(result.err).lower(), args
        assert (_event_count(md), _state(md)) == (events, state), args

    # What frees space works, each on a disk filled again right before it.
    for args in [("rm", "gone"), ("rm", "-f", "keep"), ("rmi", "other:1"),
                 ("volume", "rm", "vol1"), ("system", "prune", "-f"),  # bulky: stopped, pruned
                 ("system", "check", "--fix")]:
        fill()
        result = md(*args)
        assert (result.code, result.err) == (0, ""), (args, result)
    assert md.ok("ps", "-aq") == "" and md.ok("volume", "ls", "-q") == ""
    assert "other" not in md.ok("images")
    md.ok("replay", "--check")
    md.ok("system", "check")

    # Space freed: everything works again and the reserve is whole again.
    unfill()
    assert md.ok("run", "--rm", *none, "busybox", "echo", "again") == "again\n"
    md.ok("volume", "create", "vol2")
    md.ok("volume", "rm", "vol2")
    assert (md.root / "reserve").stat().st_size == RESERVE
    md.ok("replay", "--check")


def test_run_rm_that_fills_its_layer_ends_clearly_and_leaves_nothing(small_root):
    md, _fill, _unfill = small_root
    md.ok("run", "--rm", "--network", "none", "busybox", "true")  # the image, built once
    free_before = os.statvfs(md.root).f_bavail
    result = md("run", "--rm", "--network", "none", "busybox", "dd", "if=/dev/zero", "of=/fill", "bs=1M")
    assert result.code == 1
    assert "No space left on device" in result.err and "Traceback" not in result.err
    assert md.ok("ps", "-aq") == ""
    with closing(md.db()) as conn:  # an open fd would keep the tmpfs busy
        [(cid,)] = conn.execute("SELECT stream_id FROM events WHERE type = 'destroy'").fetchall()[-1:]
        types = [r[0] for r in conn.execute("SELECT type FROM events WHERE stream_id = ? ORDER BY version", (cid,))]
    assert types[-3:] == ["die", "destroying", "destroy"]
    assert find_leaks(md.root) == [f"mount: {md.root}"]
    assert os.statvfs(md.root).f_bavail >= free_before - 64  # pages; the log grew a little
    md.ok("replay", "--check")
    md.ok("system", "check")


def _flip_page(db: Path, page: int, skip_header: int = 100) -> None:
    """Invert every byte of one page (after the page header of page 1's file header)."""
    with open(db, "r+b") as f:
        size = int.from_bytes(open(db, "rb").read(100)[16:18], "big")
        start = (page - 1) * size + (skip_header if page > 1 else 0)
        f.seek(start)
        data = f.read(size - (skip_header if page > 1 else 0) if page > 1 else 100)
        f.seek(start)
        f.write(bytes(b ^ 0xFF for b in data))


def _page_of(md, name: str) -> int:
    with closing(md.db()) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]


@pytest.mark.parametrize("victim", ["events_by_type", "events", "file header"])
def test_a_flipped_page_is_found_by_system_check_without_a_traceback(md, victim):
    for name in ("one", "two"):
        md.ok("run", "--name", name, "--network", "none", "busybox", "true")
    md.ok("rm", "one", "two")
    md.ok("system", "check")
    page = 1 if victim == "file header" else _page_of(md, victim)
    _flip_page(md.root / "mydocker.db", page)
    check = md("system", "check")
    assert check.code == 1
    assert check.err.startswith(f"Error: the database {md.root}/mydocker.db is corrupt (PRAGMA integrity_check):\n")
    assert check.out == "" and "Traceback" not in check.err
    for repair in (("system", "prune", "-f"), ("system", "check", "--fix")):
        assert md(*repair).code == 1  # removes nothing on the word of a damaged log
    ps = md("ps", "-a")
    assert "Traceback" not in ps.err
    if ps.code != 0:  # the damage is where ps reads: one line that says what is wrong
        assert "is corrupt" in _one_line(ps.err)
    (md.root / "mydocker.db").unlink()  # nothing is left running; let the fixture find a clean root
