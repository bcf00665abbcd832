"""build: --label, --iidfile, heredocs, the classic builder's intermediate
containers for config-only steps, rmi of a built image and its untagged
parents, and FROM an image of a real docker-registry (pulled, or --pull)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.registry_server import Registry
from tests.integration.test_build import build, containers, context, out_of

HEREDOCS = """\
FROM busybox
ARG WHO=world
ENV NAME=env
RUN <<EOF
echo "hi $WHO" > /x
echo second >> /x
EOF
RUN cat <<EOF > /y
inner $NAME
EOF
COPY <<EOF /etc/greeting
hello $NAME "q"
EOF
COPY <<-"EOT" /dir/
\traw $NAME
EOT
CMD cat /x /y /etc/greeting /dir/EOT
"""


def test_heredocs_labels_iidfile_and_running_in(md, tmp_path: Path) -> None:
    ctx = context(tmp_path, HEREDOCS)
    iid = tmp_path / "iid"
    result = build(md, ctx, "-t", "here:1", "--label", "z=last", "--label", "a=first", "--iidfile", str(iid))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    steps = [line for line in lines if line.startswith("Step ")]
    assert steps[-2:] == ["Step 9/10 : LABEL a=first", "Step 10/10 : LABEL z=last"]  # sorted, at the end
    env = lines.index("Step 3/10 : ENV NAME=env")
    running = lines[env + 1]
    assert running.startswith(" ---> Running in ")
    assert lines[env + 2] == f"Removing intermediate container {running.split()[-1]}"
    image = md.inspect("here:1")
    assert iid.read_text() == image["Id"]
    assert image["Config"]["Labels"] == {"a": "first", "z": "last"}
    assert out_of(md, "here:1") == 'hi world\nsecond\ninner env\nhello env "q"\nraw $NAME\n'
    assert containers(md) == []
    cached = build(md, ctx, "-t", "here:1", "--label", "z=last", "--label", "a=first")
    assert "Running in" not in cached.out and cached.out.count("Using cache") == 9

    # a failed build leaves no iidfile (not even a stale one)
    (tmp_path / "bad").mkdir()
    bad = context(tmp_path / "bad", "FROM busybox\nRUN <<EOF\nexit 4\nEOF\n")
    failed = build(md, bad, "--iidfile", str(iid))
    assert failed.code == 1 and "returned a non-zero code: 4" in failed.err
    assert not iid.exists()
    md.ok("rmi", "here:1")


def test_rm_false_keeps_config_step_containers(md, tmp_path: Path) -> None:
    ctx = context(tmp_path, "FROM busybox\nENV A=1\nWORKDIR /w\n")
    result = build(md, ctx, "--rm=false", "-t", "kept:1")
    assert result.code == 0 and "Removing intermediate container" not in result.out
    kept = containers(md)
    assert len(kept) == 2
    for cid in kept:
        assert f" ---> Running in {cid[:12]}" in result.out
        md.ok("rm", cid)
    md.ok("rmi", "kept:1")


def test_rmi_deletes_untagged_parents_unless_shared_or_no_prune(md, tmp_path: Path) -> None:
    def all_images() -> int:
        return len(md.ok("images", "-a", "-q").split())

    md.ok("images")
    start = all_images()  # busybox
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = context(tmp_path / "one", "FROM busybox\nENV A=1\nENV B=2\nENV C=3\n")
    two = context(tmp_path / "two", "FROM busybox\nENV A=1\nENV B=2\nENV D=4\n")
    assert build(md, one, "-t", "p:1").code == 0
    assert build(md, two, "-t", "p:2").code == 0
    assert all_images() == start + 4  # A, B shared; C and D
    out = md.ok("rmi", "p:1").splitlines()
    assert out[0] == "Untagged: p:1"
    assert sum(line.startswith("Deleted: ") for line in out) == 1  # B has p:2 as a child still
    out = md.ok("rmi", "p:2").splitlines()
    assert sum(line.startswith("Deleted: ") for line in out) == 3  # D, B, A
    assert all_images() == start
    assert build(md, one, "-t", "p:1").code == 0
    out = md.ok("rmi", "--no-prune", "p:1").splitlines()
    assert sum(line.startswith("Deleted: ") for line in out) == 1
    assert all_images() == start + 2


@pytest.mark.skipif(not shutil.which("docker-registry"), reason="docker-registry is installed by `make test`")
def test_from_a_registry_image_pulls_it_and_pull_checks_it(md, tmp_path: Path) -> None:
    reg = Registry(tmp_path / "registry")
    md.env["DOCKER_CONFIG"] = str(tmp_path / "dockercfg")
    try:
        base = f"{reg.host}/lib/base:1"
        md.ok("tag", "busybox", base)
        md.ok("push", base)
        md.ok("rmi", base)
        ctx = context(tmp_path, f"FROM {base}\nCMD echo built\n")
        first = build(md, ctx, "-t", "fromreg:1")
        assert first.code == 0, first.err
        lines = first.out.splitlines()
        assert lines[1] == "1: Pulling from lib/base"
        assert f"Status: Downloaded newer image for {base}" in lines
        again = build(md, ctx, "--pull", "-t", "fromreg:1")
        assert again.code == 0, again.err
        assert f"Status: Image is up to date for {base}" in again.out.splitlines()
        assert again.out.count("Using cache") == 1
        assert out_of(md, "fromreg:1") == "built\n"
        md.ok("rmi", "fromreg:1", base)
    finally:
        reg.stop()
