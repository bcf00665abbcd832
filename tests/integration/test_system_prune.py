"""`system prune` with docker's meaning: stopped containers, unused networks,
dangling (with -a: unused) images, with --volumes unused volumes, the prompt,
the filters; then this root's leftovers (the leak repair `system check --fix`
does alone). The docker CLI's `system prune` through `system service`."""

from __future__ import annotations

import pytest

from tests.integration.api_service import DOCKER_CLI, serve_api
from tests.integration.conftest import free_subnet

NONE = ("--network", "none")
WARNING = """WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
  - all dangling images
  - what this root left on the host: cgroups, mounts, links, rules, partial downloads

Are you sure you want to continue? [y/N] """


def _state(md) -> tuple[list[str], list[str], list[str], list[str]]:
    """Containers, networks, images (id:tags), volumes: what a prune may change."""
    return (sorted(md.ok("ps", "-a", "--format", "{{.Names}}").split()),
            sorted(md.ok("network", "ls", "--format", "{{.Name}}").split()),
            sorted(md.ok("images", "--no-trunc", "--format", "{{.ID}}:{{.Repository}}").split()),
            sorted(md.ok("volume", "ls", "-q").split()))


def _one_error_line(result, code: int, words: str) -> None:
    assert result.code == code and result.err.count("\n") == 1 and words in result.err, result
    assert "Traceback" not in result.err


def test_prompt_then_what_goes_and_what_stays(md):
    md.ok("network", "create", "--subnet", free_subnet(), "used")
    md.ok("network", "create", "--subnet", free_subnet(), "unused")
    alive = md.ok("run", "-d", "--name", "alive", "--net", "used", "busybox", "sleep", "300").strip()
    stopped = md.ok("create", "--name", "stopped", *NONE, "busybox", "true").strip()
    dangling = md.ok("commit", "stopped").strip()  # no name: a dangling image
    md.ok("commit", "stopped", "unused:1")  # tagged, no container: goes only with -a
    md.ok("volume", "create", "vol1")
    try:
        before = _state(md)
        for answer in ("n\n", "yes\n", ""):  # docker 20.10 proceeds on y or Y only
            r = md("system", "prune", input=answer)
            assert (r.code, r.out, r.err) == (0, WARNING, ""), answer
            assert _state(md) == before, answer

        out = md.ok("system", "prune", input="Y\n")
        assert out.startswith(WARNING)
        assert out.removeprefix(WARNING).startswith(
            f"Deleted Containers:\n{stopped}\n\nDeleted Networks:\nunused\n\n"
            f"Deleted Images:\ndeleted: {dangling}\n\nTotal reclaimed space: "), out
        containers, networks, images, volumes = _state(md)
        assert containers == ["alive"] and "used" in networks and "unused" not in networks
        assert not any(i.startswith(dangling) for i in images) and volumes == ["vol1"]
        assert any(i.endswith(":unused") for i in images) and any(i.endswith(":busybox") for i in images)

        out = md.ok("system", "prune", "-a", "--volumes", "-f")
        assert "Deleted Containers:" not in out and "Deleted Networks:" not in out
        assert "Deleted Volumes:\nvol1\n\n" in out and "Deleted Images:\nuntagged: unused:1\n" in out
        assert out.rstrip().splitlines()[-1].startswith("Total reclaimed space: ")
        containers, networks, images, volumes = _state(md)
        assert containers == ["alive"] and "used" in networks and volumes == []
        assert [i.rsplit(":", 1)[1] for i in images] == ["busybox"], "the running container's image stays"
        assert md.inspect(alive)["State"]["Running"]
        assert md.ok("system", "prune", "-f") == "Total reclaimed space: 0B\n"
    finally:
        md.ok("rm", "-f", "alive")
        md.ok("network", "rm", "used")


def test_filters_leftovers_and_bad_input(md):
    keep = md.ok("create", "--name", "labelled", "--label", "tier=old", *NONE, "busybox", "true").strip()
    md.ok("create", "--name", "plain", *NONE, "busybox", "true")
    md.ok("network", "create", "--subnet", free_subnet(), "--label", "tier=old", "oldnet")
    md.ok("network", "create", "--subnet", free_subnet(), "plainnet")
    stray = md.root / "containers" / ("e" * 64)  # what a crash leaves: the log knows no such container
    stray.mkdir(parents=True)
    before = _state(md)

    for args, code, words in [
            (("--filter", "foo=bar"), 1, "Invalid filter 'foo'"),
            (("--filter", "until=bogus"), 1, 'failed to parse value as time or duration: "bogus"'),
            (("--volumes", "--filter", "until=1h"), 1, 'The "until" filter is not supported with "--volumes"'),
            (("--fix",), 1, "--fix goes with check"),
            (("--bogus",), 125, "unknown flag: --bogus")]:
        _one_error_line(md("system", "prune", "-f", *args), code, words)
        assert _state(md) == before and stray.is_dir(), args

    r = md("system", "prune", "--filter", "label=tier=old", input="n\n")
    assert r.out.endswith("\n\n  Items to be pruned will be filtered with:\n  - label=tier=old\n\n"
                          "Are you sure you want to continue? [y/N] ")
    assert "what this root left" not in r.out, "a filter narrows the prune: leftovers have no labels"
    assert _state(md) == before

    out = md.ok("system", "prune", "-f", "--filter", "until=1h")  # all of it is younger than that
    assert out == "Total reclaimed space: 0B\n" and _state(md) == before

    out = md.ok("system", "prune", "-f", "--filter", "label=tier=old")
    assert out.startswith(f"Deleted Containers:\n{keep}\n\nDeleted Networks:\noldnet\n\n"), out
    containers, networks, _, _ = _state(md)
    assert containers == ["plain"] and "plainnet" in networks and "oldnet" not in networks
    assert stray.is_dir(), "a filtered prune leaves the leftovers alone"

    out = md.ok("system", "prune", "-f", "--filter", "label!=tier=old")
    assert "Deleted Containers:\n" in out and "plainnet\n" in out and stray.is_dir()
    assert md.ok("ps", "-aq") == ""

    r = md("system", "check")
    assert r.code == 1 and f"leaked: directory {stray}" in r.out
    out = md.ok("system", "prune", "-f")
    assert out.startswith(f"Deleted Leftovers:\ndirectory {stray}\n\nTotal reclaimed space: "), out
    assert not stray.exists() and md("system", "check").code == 0


def test_check_fix_repairs_leaks_only(md):
    stopped = md.ok("create", "--name", "stopped", *NONE, "busybox", "true").strip()
    stray = md.root / "containers" / ("d" * 64)
    stray.mkdir(parents=True)
    out = md.ok("system", "check", "--fix")
    assert f"removed: directory {stray}\n" in out and not stray.exists()
    assert md.ok("ps", "-aq", "--no-trunc").split() == [stopped], "a stopped container is not a leak"
    assert md.ok("system", "check", "--fix").strip().endswith("the log and the kernel agree")
    md.ok("rm", "stopped")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    if DOCKER_CLI is None:
        pytest.skip("no docker CLI")
    yield from serve_api(tmp_path_factory, "sysprune")


def test_docker_cli_system_prune_through_the_service(api):
    """docker 20.10's `system prune` calls the four prune endpoints and /build/prune."""
    def docker(*args: str) -> str:
        out = api.docker(*args)
        assert out.returncode == 0, f"docker {' '.join(args)} -> {out.returncode}: {out.stderr}"
        return out.stdout

    gone = docker("create", "--name", "gone", *NONE, "busybox", "true").strip()
    docker("create", "--name", "kept", "--label", "keep=yes", *NONE, "busybox", "true")
    docker("network", "create", "--subnet", free_subnet(), "apinet")
    out = docker("system", "prune", "-f", "--filter", "label!=keep=yes")
    assert out.startswith(f"Deleted Containers:\n{gone}\n\nDeleted Networks:\napinet\n\n"), out
    assert docker("ps", "-a", "--format", "{{.Names}}").split() == ["kept"]
    bad = api.docker("system", "prune", "-f", "--filter", "foo=bar")
    assert bad.returncode == 1 and "Invalid filter 'foo'" in bad.stderr
    assert "Total reclaimed space: " in docker("system", "prune", "-af")
    assert docker("ps", "-aq") == "" and docker("images", "-q") == ""


def test_a_builds_intermediate_images_are_not_dangling(md, tmp_path):
    """docker's dangling images are untagged ones nothing was built on: a build's
    step images under its tagged result stay (they are its cache) until it goes."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nENV A=1\nENV B=2\n")
    md.ok("build", "--network", "none", "-t", "built:1", str(ctx), timeout=120)
    everything = md.ok("images", "-a", "-q")
    assert len(everything.split()) == 3, everything  # busybox, the ENV A step, built:1

    assert md.ok("system", "prune", "-f") == "Total reclaimed space: 0B\n"
    assert md.ok("images", "-a", "-q") == everything
    assert "Using cache" in md.ok("build", "--network", "none", "-t", "built:1", str(ctx), timeout=120)

    out = md.ok("system", "prune", "-a", "-f")
    assert out.count("deleted: sha256:") == 3 and "untagged: built:1" in out, out
    assert md.ok("images", "-a", "-q") == ""
