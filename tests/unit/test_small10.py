"""Issue 10's small differences from docker 20.10, the pure parts: which network
takes the gateway after a disconnect, cp's container-side destination errors,
the parent docker's CLI names for a missing container:path."""

from __future__ import annotations

import os

import pytest
from mydocker.cli.commands.cp import _parent_shown
from mydocker.core import copy
from mydocker.statemachine.gateway import successor


def test_the_network_whose_name_sorts_first_takes_the_gateway() -> None:
    # docker orders a sandbox's endpoints by network name, not by when they joined
    left = [{"name": "zeta", "id": "1"}, {"name": "bridge", "id": "2"}, {"name": "mnback", "id": "3"}]
    assert successor(left)["id"] == "2"
    assert successor([{"name": "b", "id": "x"}])["id"] == "x"


@pytest.mark.parametrize(("dest", "shown"), [("/a/b", "/a"), ("/tmp", "/"), ("x", "."), ("/a/", "/"),
                                             ("a/b", "a"), ("/", "/")])
def test_parent_shown_as_docker_names_it(dest: str, shown: str) -> None:
    assert _parent_shown(dest) == shown


def test_container_destination_errors_are_dockers(tmp_path) -> None:
    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    (root / "file").write_text("f")
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        for dest in ("/missing/", "/file/"):  # a trailing / says directory: docker's ErrDirNotExists
            with pytest.raises(copy.NoSuchDirectory, match="^no such directory$"):
                copy.plan_destination(root_fd, dest, False, "a", container_side=True)
        for dest, parent in (("/missing/x", "/missing"), ("/file/x", "/file"), ("/dir/gone/x", "/dir/gone")):
            with pytest.raises(copy.NoParent) as caught:
                copy.plan_destination(root_fd, dest, False, "a", container_side=True)
            assert caught.value.parent == parent
        # the host side keeps its own words
        with pytest.raises(copy.CopyError, match="local directory"):
            copy.plan_destination(root_fd, str(tmp_path / "nothere") + "/", False, "a", container_side=False)
    finally:
        os.close(root_fd)
