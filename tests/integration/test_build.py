"""mydocker build: Dockerfiles built and run, the layer cache, multi-stage, bad input,
and (where a docker engine answers) the same contexts built by docker, compared."""

from __future__ import annotations

import io
import ipaddress
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from tests.integration.registry_server import free_port

pytestmark = pytest.mark.integration


def context(tmp_path: Path, dockerfile: str, files: dict[str, str] | None = None) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        path = ctx / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return ctx


def build(md, ctx: Path, *flags: str):
    return md("build", "--network", "none", *flags, str(ctx), timeout=120)


def out_of(md, image: str, *cmd: str) -> str:
    return md.ok("run", "--rm", "--network", "none", image, *cmd)


def image_count(md) -> int:
    with md.db() as conn:
        return conn.execute("SELECT count(*) FROM images").fetchone()[0]


def containers(md) -> list[str]:
    with md.db() as conn:
        return [r[0] for r in conn.execute("SELECT id FROM containers")]


APP = """\
# a comment
FROM busybox AS base
ARG V=1
ENV GREETING="hi there" \\
    N=${V}
WORKDIR /app
COPY a.txt ./
COPY sub /app/sub/
RUN echo "$GREETING $V" > out.txt
LABEL org.example=yes
EXPOSE 8080 53/udp
USER 65534:65534
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s CMD true
CMD ["cat", "/app/out.txt"]
"""


def test_build_run_and_config(md, tmp_path):
    ctx = context(tmp_path, APP, {"a.txt": "hello\n", "sub/s.txt": "s\n", "skip.log": "no\n"})
    (ctx / ".dockerignore").write_text("*.log\n")
    result = build(md, ctx, "-t", "app:1", "--build-arg", "V=2")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "Step 1/13 : FROM busybox AS base"
    assert "Step 7/13 : RUN echo \"$GREETING $V\" > out.txt" in lines
    assert any(line.startswith(" ---> Running in ") for line in lines)
    assert any(line.startswith("Removing intermediate container ") for line in lines)
    image_id = md.inspect("app:1")["Id"]
    assert lines[-2] == f"Successfully built {image_id.split(':')[1][:12]}"
    assert lines[-1] == "Successfully tagged app:1"
    assert out_of(md, "app:1") == "hi there 2\n"
    assert out_of(md, "app:1", "cat", "/app/a.txt", "/app/sub/s.txt") == "hello\ns\n"
    assert md("run", "--rm", "--network", "none", "app:1", "ls", "/app/skip.log").code != 0
    config = md.inspect("app:1")["Config"]
    assert config["Env"][1:] == ["GREETING=hi there", "N=2"]
    assert config["WorkingDir"] == "/app"
    assert config["User"] == "65534:65534"
    assert config["Labels"] == {"org.example": "yes"}
    assert config["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert config["StopSignal"] == "SIGINT"
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000}
    assert config["Cmd"] == ["cat", "/app/out.txt"]
    assert out_of(md, "app:1", "id", "-u") == "65534\n"
    # intermediate containers were real containers of this runtime, started by the build, and are gone
    with md.db() as conn:
        actors = [json.loads(r[0])["command"] for r in conn.execute(
            "SELECT actor FROM events WHERE stream_type = 'container' AND type = 'create'")]
    assert any(a.startswith("build ") for a in actors)
    assert containers(md) == []


def test_history_as_docker_shows_it(md, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nENV A=1\nRUN echo x > /x\nCMD [\"sh\", \"-c\", \"cat /x\"]\n")
    assert build(md, ctx, "-t", "h:1").code == 0
    lines = md.ok("history", "--no-trunc", "h:1").splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    by = [line for line in lines[1:]]
    assert '/bin/sh -c #(nop)  CMD ["sh" "-c" "cat /x"]' in by[0]
    assert "/bin/sh -c echo x > /x" in by[1]
    assert "/bin/sh -c #(nop)  ENV A=1" in by[2]
    assert md.inspect("busybox")["Id"] in by[3]
    assert len(by) == 4
    # the image's stream holds its build and its tag
    with md.db() as conn:
        types = [r[0] for r in conn.execute("SELECT type FROM events WHERE stream_id = ? ORDER BY version",
                                            (md.inspect("h:1")["Id"],))]
    assert types == ["build", "tag"]


def test_cache_hits_and_misses(md, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\n", {"a.txt": "one\n"})
    first = build(md, ctx, "-t", "c:1")
    assert first.code == 0 and "Using cache" not in first.out
    # `image build` is docker's management-group spelling of `build`, with the same flags
    again = md("image", "build", "--network", "none", "-t", "c:1", str(ctx), timeout=120)
    assert again.code == 0, again.err
    assert again.out.count(" ---> Using cache") == 2
    assert md.inspect("c:1")["Id"] == md.inspect(again.out.split()[-4])["Id"]
    (ctx / "a.txt").write_text("two\n")  # a changed source misses from its COPY on
    changed = build(md, ctx, "-t", "c:1")
    assert changed.code == 0 and "Using cache" not in changed.out
    assert out_of(md, "c:1", "cat", "/b.txt") == "two\n"
    fresh = build(md, ctx, "--no-cache", "-q")
    assert fresh.code == 0
    assert fresh.out.strip().startswith("sha256:") and len(fresh.out.split()) == 1
    assert fresh.out.strip() != md.inspect("c:1")["Id"]


def test_build_args_and_arg_scope(md, tmp_path):
    df = "ARG BASE=busybox\nFROM ${BASE}\nARG BASE\nARG WHO=world\nRUN echo hello $WHO from $BASE > /greeting\n"
    ctx = context(tmp_path, df)
    assert build(md, ctx, "-t", "a:1").code == 0
    assert out_of(md, "a:1", "cat", "/greeting") == "hello world from busybox\n"
    assert build(md, ctx, "-t", "a:2", "--build-arg", "WHO=you").code == 0
    assert out_of(md, "a:2", "cat", "/greeting") == "hello you from busybox\n"
    # a build arg is not part of the image's environment
    assert not any(e.startswith("WHO=") for e in md.inspect("a:2")["Config"]["Env"])


def test_run_uses_the_default_network(md, tmp_path):
    """Without --network a RUN step is on the root's default bridge, as docker's."""
    ctx = context(tmp_path, "FROM busybox\nRUN ip -4 -o addr show eth0 | awk '{print $4}' > /addr\n")
    result = md("build", "-t", "net:1", str(ctx), timeout=120)
    assert result.code == 0, result.err
    addr = out_of(md, "net:1", "cat", "/addr").strip()
    assert ipaddress.ip_address(addr.split("/")[0]) in ipaddress.ip_network(md.default_subnet)
    assert containers(md) == []


def test_multi_stage_target_and_copy_from(md, tmp_path):
    df = """\
FROM busybox AS builder
RUN mkdir -p /out && echo built > /out/artifact && ln -s artifact /out/link
FROM busybox AS runtime
COPY --from=builder /out/ /opt/
COPY --from=0 --chown=65534:65534 /out/artifact /owned
CMD ["cat", "/opt/artifact"]
FROM runtime AS debug
ENV DEBUG=1
"""
    ctx = context(tmp_path, df)
    result = build(md, ctx, "-t", "ms:1", "--target", "runtime")
    assert result.code == 0, result.err
    assert "Step 5/6" in result.out and "Step 7" not in result.out
    assert out_of(md, "ms:1") == "built\n"
    assert out_of(md, "ms:1", "readlink", "/opt/link") == "artifact\n"
    assert out_of(md, "ms:1", "stat", "-c", "%u:%g", "/owned") == "65534:65534\n"
    assert not any(e.startswith("DEBUG=") for e in md.inspect("ms:1")["Config"]["Env"])
    assert build(md, ctx, "-t", "ms:2").code == 0
    assert "DEBUG=1" in md.inspect("ms:2")["Config"]["Env"]
    bad = build(md, ctx, "--target", "nosuch")
    assert bad.code == 1 and "nosuch" in bad.err


def test_copy_semantics_globs_and_add_tar(md, tmp_path):
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:gz") as tar:
        info = tarfile.TarInfo("inner/file.txt")
        data = b"from tar\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    df = """\
FROM busybox
COPY *.txt /dir/
COPY one.txt /renamed
COPY tree /tree
ADD pack.tar.gz /unpacked/
COPY pack.tar.gz /packed/
"""
    ctx = context(tmp_path, df, {"one.txt": "1\n", "two.txt": "2\n", "tree/a/b.txt": "b\n"})
    (ctx / "pack.tar.gz").write_bytes(payload.getvalue())
    os.symlink("/etc", ctx / "tree" / "host-etc")  # copied as a link, never followed out of the context
    assert build(md, ctx, "-t", "cp:1").code == 0
    assert out_of(md, "cp:1", "ls", "/dir") == "one.txt\ntwo.txt\n"
    assert out_of(md, "cp:1", "cat", "/renamed") == "1\n"
    assert out_of(md, "cp:1", "cat", "/tree/a/b.txt") == "b\n"  # a directory's contents, not itself
    assert out_of(md, "cp:1", "readlink", "/tree/host-etc") == "/etc\n"
    assert out_of(md, "cp:1", "cat", "/unpacked/inner/file.txt") == "from tar\n"
    assert out_of(md, "cp:1", "ls", "/packed") == "pack.tar.gz\n"  # COPY never extracts


def test_dockerignore_exceptions_and_escape_directive(md, tmp_path):
    df = "# escape=`\nFROM busybox\nCOPY . /ctx/\nRUN echo a `\n  b > /joined\n"
    ctx = context(tmp_path, df, {"keep.md": "k", "drop.md": "d", "logs/x.log": "x", "logs/keep.log": "y"})
    (ctx / ".dockerignore").write_text("# comment\n*.md\n!keep.md\nlogs/**\n!logs/keep.log\n")
    assert build(md, ctx, "-t", "ig:1").code == 0
    listing = out_of(md, "ig:1", "find", "/ctx", "-type", "f").split()
    assert sorted(listing) == ["/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/keep.md", "/ctx/logs/keep.log"]
    assert out_of(md, "ig:1", "cat", "/joined") == "a b\n"


def test_onbuild_recorded_and_triggered(md, tmp_path):
    parent = context(tmp_path, "FROM busybox\nONBUILD RUN echo triggered > /fired\n")
    assert build(md, parent, "-t", "ob:parent").code == 0
    assert md.inspect("ob:parent")["Config"]["OnBuild"] == ["RUN echo triggered > /fired"]
    child_dir = tmp_path / "child"
    child_dir.mkdir()
    (child_dir / "Dockerfile").write_text("FROM ob:parent\nCMD [\"cat\", \"/fired\"]\n")
    result = build(md, child_dir, "-t", "ob:child")
    assert result.code == 0 and "# Executing 1 build trigger" in result.out
    assert out_of(md, "ob:child") == "triggered\n"
    assert not md.inspect("ob:child")["Config"].get("OnBuild")


def test_shell_and_entrypoint(md, tmp_path):
    df = "FROM busybox\nSHELL [\"/bin/sh\", \"-ec\"]\nRUN echo $0 > /shell\nENTRYPOINT echo from entrypoint\n"
    ctx = context(tmp_path, df)
    assert build(md, ctx, "-t", "sh:1").code == 0
    config = md.inspect("sh:1")["Config"]
    assert config["Entrypoint"] == ["/bin/sh", "-ec", "echo from entrypoint"]
    assert config["Cmd"] is None  # an ENTRYPOINT drops the base image's CMD
    assert out_of(md, "sh:1") == "from entrypoint\n"


def test_dockerfile_from_stdin_and_file_flag(md, tmp_path):
    result = md("build", "--network", "none", "-q", "-t", "stdin:1", "-", input="FROM busybox\nRUN echo s > /s\n")
    assert result.code == 0, result.err
    assert result.out.strip() == md.inspect("stdin:1")["Id"]
    no_ctx = md("build", "-", input="FROM busybox\nCOPY x /x\n")
    assert no_ctx.code == 1 and "context" in no_ctx.err
    ctx = context(tmp_path, "FROM nothing-here\n")
    (ctx / "build").mkdir()
    (ctx / "build" / "Other").write_text("FROM busybox\nLABEL which=other\n")
    assert build(md, ctx, "-t", "f:1", "-f", str(ctx / "build" / "Other")).code == 0
    assert md.inspect("f:1")["Config"]["Labels"] == {"which": "other"}


def test_rm_false_keeps_intermediate_containers(md, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nRUN true\n")
    result = build(md, ctx, "--rm=false")
    assert result.code == 0 and "Removing intermediate container" not in result.out
    kept = containers(md)
    assert len(kept) == 1
    md.ok("rm", kept[0])


BAD = [
    ("FROM busybox\nFOO bar\n", "dockerfile parse error line 2: unknown instruction: FOO"),
    ("FROM busybox\nCOPY missing /x\n", "COPY failed: file not found in build context"),
    ("FROM busybox\nRUN echo partial > /p && false\n",
     "The command '/bin/sh -c echo partial > /p && false' returned a non-zero code: 1"),
    ("FROM busybox\nCOPY evil /x\n", "COPY failed: file not found in build context"),
    ("FROM busybox\nCOPY ../../../etc/passwd /x\n", "COPY failed: file not found in build context"),
    ("FROM busybox\nADD http://192.0.2.1/x /x\n", "ADD of a URL is not supported"),
    ("FROM --platform=linux/arm64 busybox\n", "platform linux/arm64 is not supported"),
    # a base that is not here is pulled: from a loopback port nothing listens on
    (f"FROM 127.0.0.1:{free_port()}/no-such-image\n", "connect: connection refused"),
    ("FROM busybox\nRUN exit 3\n", "returned a non-zero code: 3"),
    ("FROM busybox\nENV A=1\nRUN false\n", "returned a non-zero code: 1"),
]


@pytest.mark.parametrize("dockerfile,message", BAD)
def test_bad_input_leaves_nothing(md, tmp_path, dockerfile, message):
    ctx = context(tmp_path, dockerfile)
    os.symlink("/etc/passwd", ctx / "evil")
    md.ok("images")  # the default image exists before, so what is left after is the build's
    before = image_count(md)
    layers = sorted(os.listdir(md.root / "layers"))
    result = build(md, ctx, "-t", "bad:1")
    assert result.code == 1
    assert message in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert image_count(md) == before
    assert sorted(os.listdir(md.root / "layers")) == layers
    assert containers(md) == []
    assert md("inspect", "bad:1").code != 0


def test_bad_context_and_hostile_dockerignore(md, tmp_path):
    missing = md("build", str(tmp_path / "nope"))
    assert missing.code == 1 and "unable to prepare context" in missing.err
    ctx = context(tmp_path, "FROM busybox\n")
    (ctx / ".dockerignore").write_text("[\n")
    result = build(md, ctx)
    assert result.code == 1 and "syntax error in pattern" in result.err
    (ctx / ".dockerignore").unlink()
    bad_tag = build(md, ctx, "-t", "Bad:Tag!")
    assert bad_tag.code == 125 and "invalid reference format" in bad_tag.err


def test_images_hides_intermediates(md, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nENV A=1\nENV B=2\n")
    assert build(md, ctx, "-t", "im:1").code == 0
    shown = md.ok("images").splitlines()
    assert not any(line.startswith("<none>") for line in shown)
    assert sum(line.startswith("<none>") for line in md.ok("images", "-a").splitlines()) == 1


# --- the same contexts built by docker, compared ----------------------------

# The CLI matters: the classic builder checksums COPY sources from the context tar
# the client sends, and clients after 20.10 send other modes. Debian's docker.io
# CLI is the engine's own version, docker 20.10, the reference.
DOCKER = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else (shutil.which("docker") or "docker")


def _docker_ok() -> bool:
    if not shutil.which(DOCKER):
        return False
    try:
        return subprocess.run([DOCKER, "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


COMPARED = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts")


@pytest.mark.skipif(not _docker_ok(), reason="no docker engine answers here")
def test_same_as_docker(md, tmp_path):
    """The docker image is built on a busybox of the same content as ours (an
    import of our busybox layer), so files, config and history line up."""
    ctx = context(tmp_path, APP.replace("USER 65534:65534\n", ""),
                  {"a.txt": "hello\n", "sub/s.txt": "s\n"})
    tag = f"mydocker-build-test-{uuid.uuid4().hex[:8]}"
    md.ok("images")
    base = md.inspect("busybox")
    export = tmp_path / "busybox.tar"
    with md.db() as conn:
        layer_name = json.loads(conn.execute("SELECT layers FROM images WHERE id = ?",
                                             (base["Id"],)).fetchone()[0])[0]
    subprocess.run(["tar", "-C", str(md.root / "layers" / layer_name), "-cf", str(export), "."], check=True)
    env = [f"ENV {e.replace('=', ' ', 1)}" for e in base["Config"]["Env"]]
    subprocess.run([DOCKER, "import", *sum((["-c", c] for c in env), []), str(export), f"{tag}-base"],
                   check=True, capture_output=True)
    try:
        df = (ctx / "Dockerfile").read_text().replace("FROM busybox", f"FROM {tag}-base")
        (ctx / "Dockerfile").write_text(df)
        docker = subprocess.run([DOCKER, "build", "--network", "none", "--build-arg", "V=2", "-t", tag,
                                 str(ctx)], capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "0"})
        assert docker.returncode == 0, docker.stderr
        (ctx / "Dockerfile").write_text(df.replace(f"FROM {tag}-base", "FROM busybox"))
        assert build(md, ctx, "-t", "cmp:1", "--build-arg", "V=2").code == 0
        theirs = json.loads(subprocess.run([DOCKER, "inspect", tag], capture_output=True, text=True,
                                           check=True).stdout)[0]["Config"]
        ours = md.inspect("cmp:1")["Config"]
        for key in COMPARED:
            assert (ours.get(key) or None) == (theirs.get(key) or None), key

        def created_by(lines: str) -> list[str]:
            return [line for line in lines.splitlines() if line][:-1]  # the base rows differ by nature
        theirs_history = subprocess.run([DOCKER, "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag],
                                        capture_output=True, text=True, check=True).stdout
        ours_history = md.ok("history", "--no-trunc", "cmp:1").splitlines()[1:]
        # COPY's source checksums too: docker's tarsum of the context, to the byte
        for line, want in zip(ours_history, created_by(theirs_history), strict=False):
            assert want in line
        files = "cat /app/out.txt /app/a.txt /app/sub/s.txt; ls -ln /app | awk '{print $1, $3, $4, $NF}'"
        theirs_files = subprocess.run([DOCKER, "run", "--rm", "--network", "none", tag, "sh", "-c", files],
                                      capture_output=True, text=True, check=True).stdout
        assert out_of(md, "cmp:1", "sh", "-c", files) == theirs_files
    finally:
        # rmi of the tag removes its untagged build parents too: exactly what this test made
        subprocess.run([DOCKER, "rmi", "-f", tag, f"{tag}-base"], capture_output=True)
