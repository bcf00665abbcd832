"""docker 20.10's words and shapes that fin10 matched: cp's bare lstat of a
missing host source, volume inspect's Labels, volume create's refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from mydocker.cli.commands.cp import missing_source
from mydocker.cli.main import main
from mydocker.statemachine import volumes
from mydocker.statemachine.context import Context
from mydocker.store.db import connect


def test_a_missing_source_is_named_as_dockers_cli_lstats_it(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert missing_source("/nonexist") == "lstat //nonexist: no such file or directory"
    assert missing_source(f"{tmp_path}/link/x") == f"lstat {tmp_path}/real/x: no such file or directory"
    assert missing_source(f"{tmp_path}/a/b/c") == f"lstat {tmp_path}/a: no such file or directory"


def test_labels_are_empty_for_a_cli_create_and_null_for_a_run_volume(tmp_path: Path) -> None:
    ctx = Context(str(tmp_path / "state"), "test", _conn=connect(tmp_path / "state"))
    try:
        volumes.ensure(ctx, "plain", options={})  # the CLI sends both maps, empty
        volumes.ensure(ctx, "byrun")
        volumes.ensure(ctx, "labelled", labels={"a": "b"}, options={})
        shown = {row["id"]: volumes.inspect(row)["Labels"] for row in volumes.list_all(ctx.conn)}
    finally:
        ctx.close()
    assert shown == {"plain": {}, "byrun": None, "labelled": {"a": "b"}}


def test_an_invalid_volume_name_exits_1_with_the_daemons_words(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path / "state"), "volume", "create", "a/b"]) == 1
    assert capsys.readouterr().err == (
        'Error: create a/b: "a/b" includes invalid characters for a local volume name, only '
        '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path\n')
    assert main(["--root", str(tmp_path / "state"), "volume", "inspect", "a/b"]) == 1
    assert capsys.readouterr().err == "Error: No such volume: a/b\n"  # docker's CLI words
    assert main(["--root", str(tmp_path / "state"), "volume", "rm", "a/b"]) == 1
    assert capsys.readouterr().err == "Error: No such volume: a/b\n"
    assert main(["--root", str(tmp_path / "state"), "volume", "rm", "-f", "a/b"]) == 0
    assert capsys.readouterr().out == "a/b\n"  # docker's -f: said, and no error
