"""cp (both ways, running and stopped, symlinks and `..` kept inside the
rootfs, -a, -L) and diff, on the real kernel."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile

from tests.integration.conftest import MYDOCKER


def test_cp_both_ways_on_running_and_stopped_containers(md, tmp_path):
    md.ok("run", "-d", "--name", "files", "--network", "none", "busybox", "sleep", "1000")
    src = tmp_path / "hello.txt"
    src.write_text("hello\n")
    md.ok("cp", str(src), "files:/tmp/")
    assert md.ok("exec", "files", "cat", "/tmp/hello.txt") == "hello\n"
    md.ok("cp", str(src), "files:/tmp/renamed.txt")
    assert md.ok("exec", "files", "cat", "/tmp/renamed.txt") == "hello\n"

    md.ok("exec", "files", "sh", "-c", "mkdir -p /data/sub && echo one > /data/sub/a && echo two > /data/b")
    out = tmp_path / "out"
    md.ok("cp", "files:/data", str(out))  # a missing destination becomes the copy
    assert (out / "sub" / "a").read_text() == "one\n" and (out / "b").read_text() == "two\n"
    md.ok("cp", "files:/data", str(out))  # an existing directory receives it under its name
    assert (out / "data" / "b").read_text() == "two\n"

    raw = subprocess.run([MYDOCKER, "--root", str(md.root), "cp", "files:/data/b", "-"],
                         capture_output=True, env={**os.environ, **md.env}, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        assert tar.getnames() == ["b"]
        assert tar.extractfile("b").read() == b"two\n"

    md.ok("stop", "-t", "0", "files")
    md.ok("cp", str(src), "files:/stopped.txt")  # into a stopped container: its overlay, privately
    assert md.ok("cp", "files:/stopped.txt", "-")  # and out again
    back = tmp_path / "back.txt"
    md.ok("cp", "files:/data/sub/a", str(back))
    assert back.read_text() == "one\n"
    md.ok("start", "files")
    assert md.ok("exec", "files", "cat", "/stopped.txt") == "hello\n"
    with open("/proc/mounts") as f:
        assert str(md.root) not in f.read(), "the overlay of a stopped container never shows on the host"
    md.ok("rm", "-f", "files")


def test_cp_never_follows_a_container_symlink_or_dotdot_to_the_host(md, tmp_path):
    host_dir = tmp_path / "hostside"
    host_dir.mkdir()
    (host_dir / "secret").write_text("host secret\n")
    md.ok("run", "-d", "--name", "trap", "--network", "none", "busybox", "sh", "-c",
          f"mkdir -p {host_dir}; ln -sfn {host_dir} /link; ln -sf {host_dir}/secret /leak; sleep 1000")
    for _ in range(100):
        if md("exec", "trap", "test", "-L", "/leak").code == 0:
            break
    payload = tmp_path / "payload.txt"
    payload.write_text("payload\n")
    for state in ("running", "stopped"):
        md.ok("cp", str(payload), "trap:/link/")
        md.ok("cp", str(payload), f"trap:/../../..{host_dir}/p2.txt")
        assert sorted(os.listdir(host_dir)) == ["secret"], f"{state}: a copy reached the host"
        following = md("cp", "-L", "trap:/leak", str(tmp_path / "got"))
        assert following.code == 1 and not (tmp_path / "got").exists(), f"{state}: the host's file leaked"
        md.ok("cp", "trap:/leak", str(tmp_path / "link-copy"))  # without -L: the link itself
        assert os.readlink(tmp_path / "link-copy") == f"{host_dir}/secret"
        os.unlink(tmp_path / "link-copy")
        if state == "running":
            md.ok("stop", "-t", "0", "trap")
    md.ok("start", "trap")
    listing = md.ok("exec", "trap", "ls", str(host_dir)).split()
    assert sorted(listing) == ["p2.txt", "payload.txt"], "the copies landed inside the container"
    md.ok("rm", "-f", "trap")


def test_cp_archive_mode_keeps_owners_and_bad_input_is_refused(md, tmp_path):
    md.ok("run", "-d", "--name", "owners", "--network", "none", "busybox", "sh", "-c",
          "echo x > /f && chown 1234:5678 /f && sleep 1000")
    for _ in range(100):
        if md("exec", "owners", "test", "-f", "/f").code == 0:
            break
    md.ok("cp", "-a", "owners:/f", str(tmp_path / "kept"))
    md.ok("cp", "owners:/f", str(tmp_path / "root"))
    assert (os.stat(tmp_path / "kept").st_uid, os.stat(tmp_path / "kept").st_gid) == (1234, 5678)
    assert os.stat(tmp_path / "root").st_uid == 0

    for argv, words in [
        (("cp", "owners:/f"), '"mydocker cp" requires exactly 2 arguments'),
        (("cp", "owners:/missing", str(tmp_path / "x")), "No such container:path: owners:/missing"),
        (("cp", "nosuch:/f", str(tmp_path / "x")), "No such container:path: nosuch:/f"),  # docker 20.10's CLI
        (("cp", str(tmp_path / "absent"), "owners:/tmp"), "no such file or directory"),
        (("cp", str(tmp_path), "owners:/f"), "cannot copy a directory to a file"),
    ]:
        result = md(*argv)
        assert result.code == 1 and words in result.err and result.err.count("\n") == 1, (argv, result.err)
    assert not (tmp_path / "x").exists()
    md.ok("rm", "-f", "owners")


def test_diff_reports_added_changed_and_deleted(md):
    md.ok("run", "--name", "changes", "--network", "none", "busybox", "sh", "-c",
          "mkdir /new && echo > /new/f && rm /bin/ls && echo x >> /etc/passwd")
    lines = set(md.ok("diff", "changes").splitlines())
    assert lines == {"A /new", "A /new/f", "C /bin", "D /bin/ls", "C /etc", "C /etc/passwd"}
    md.ok("run", "--name", "quiet", "--network", "none", "busybox", "true")
    assert md.ok("diff", "quiet") == "", "the runtime's own files (hosts, resolv.conf...) are not changes"
    missing = md("diff", "nosuch")
    assert missing.code == 1 and "No such container: nosuch" in missing.err
    md.ok("rm", "changes", "quiet")


def test_cp_from_a_tar_on_stdin_into_a_directory(md, tmp_path):
    md.ok("run", "-d", "--name", "untar", "--network", "none", "busybox", "sleep", "1000")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"from stdin\n"
        info = tarfile.TarInfo("dir/inner.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    proc = subprocess.run([MYDOCKER, "--root", str(md.root), "cp", "-", "untar:/tmp"], input=buffer.getvalue(),
                          capture_output=True, env={**os.environ, **md.env})
    assert proc.returncode == 0, proc.stderr
    assert md.ok("exec", "untar", "cat", "/tmp/dir/inner.txt") == "from stdin\n"
    refused = subprocess.run([MYDOCKER, "--root", str(md.root), "cp", "-", "untar:/tmp/dir/inner.txt"],
                             input=buffer.getvalue(), capture_output=True, env={**os.environ, **md.env})
    assert refused.returncode == 1 and b"must be a directory" in refused.stderr
    md.ok("rm", "-f", "untar")
