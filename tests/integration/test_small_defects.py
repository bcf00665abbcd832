"""Issue 15's smaller defects, as a user meets them on the real kernel."""

from __future__ import annotations

import json
import tarfile


def test_volume_with_empty_source_is_refused_and_creates_nothing(md):
    result = md("run", "-v", ":/x", "busybox", "true")
    assert (result.code, result.err) == (125, "Error: invalid spec: :/x: empty section between colons\n")
    assert md.ok("ps", "-aq") == ""


def test_home_comes_from_the_images_passwd_in_run_and_exec(md):
    def home(*args: str) -> str:
        return md.ok("run", "--rm", "--network", "none", *args, "busybox", "sh", "-c", "echo $HOME").strip()

    assert home() == "/root"
    assert home("-u", "65534") == "/home"  # nobody's entry in the image
    assert home("-u", "4242") == "/"  # no entry: docker's /
    assert home("-e", "HOME=/mine") == "/mine"
    md.ok("run", "-d", "--name", "homes", "--network", "none", "busybox", "sleep", "60")
    try:
        assert md.ok("exec", "homes", "sh", "-c", "echo $HOME").strip() == "/root"
        assert md.ok("exec", "-u", "65534", "homes", "sh", "-c", "echo $HOME").strip() == "/home"
        assert md.ok("exec", "-u", "4242", "homes", "sh", "-c", "echo $HOME").strip() == "/"
        assert "HOME=" not in "".join(md.inspect("homes")["Config"]["Env"])  # as docker: not recorded
    finally:
        md.ok("rm", "-f", "homes")


def _busybox_id(md) -> str:
    md.ok("run", "--rm", "--network", "none", "busybox", "true")  # built on first use
    return md.inspect("busybox")["Id"]


def test_save_by_id_names_nothing_so_load_gives_none(md, tmp_path):
    image_id = _busybox_id(md)
    md.ok("save", "-o", str(tmp_path / "by-id.tar"), image_id)
    md.ok("save", "-o", str(tmp_path / "by-name.tar"), "busybox")
    with tarfile.open(tmp_path / "by-id.tar") as tar:
        assert json.load(tar.extractfile("manifest.json"))[0]["RepoTags"] is None
    with tarfile.open(tmp_path / "by-name.tar") as tar:
        assert json.load(tar.extractfile("manifest.json"))[0]["RepoTags"] == ["busybox:latest"]
    md.ok("rmi", "busybox")
    md.ok("load", "-i", str(tmp_path / "by-id.tar"))
    rows = [line.split() for line in md.ok("images").splitlines()[1:]]
    assert [(r[0], r[1]) for r in rows] == [("<none>", "<none>")]


def test_busybox_keeps_its_id_when_built_again(md, tmp_path):
    first = _busybox_id(md)
    md.ok("rmi", "busybox")
    assert "busybox" not in md.ok("images")  # gone until something needs it, as docker
    assert _busybox_id(md) == first
    from tests.integration.conftest import Runtime

    other = Runtime(tmp_path / "other-root")
    assert _busybox_id(other) == first  # every root on this host builds the same image


def test_published_ports_with_host_network_warn_as_docker(md):
    result = md("run", "--rm", "--network", "host", "-p", "8080:80", "busybox", "true")
    assert result.code == 0
    assert result.err == "WARNING: Published ports are discarded when using host network mode\n"


def test_subcommand_help_names_mydocker_once(md):
    assert md.ok("volume", "create", "--help").startswith("\nUsage:  mydocker volume create ")
