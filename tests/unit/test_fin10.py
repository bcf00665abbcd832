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


def test_the_attach_socket_hands_descriptors_to_on_fds_and_closes_unasked_ones(tmp_path: Path) -> None:
    import os
    import socket

    from mydocker.core import attachsock

    got: list[tuple[bytes, list[int]]] = []
    server = attachsock.Server(str(tmp_path), -1, -1, on_fds=lambda payload, fds: got.append((payload, fds)))
    try:
        read_end, write_end = os.pipe()
        client = attachsock.connect(str(tmp_path))
        assert client is not None
        server.handle(server.listener.fileno())
        socket.send_fds(client, [attachsock.frame(b"n", b"{}")], [write_end])
        server.handle(next(c.fileno() for c in server.clients))
        ((payload, (passed,)),) = got
        assert payload == b"{}" and os.path.sameopenfile(passed, write_end)
        os.close(passed)
        # descriptors with a frame that does not ask for them are not kept
        socket.send_fds(client, [attachsock.frame(b"i", b"x")], [write_end])
        before = len(os.listdir("/proc/self/fd"))
        server.handle(next(c.fileno() for c in server.clients))
        assert len(got) == 1 and len(os.listdir("/proc/self/fd")) == before
        client.close()
        for fd in (read_end, write_end):
            os.close(fd)
    finally:
        server.close()


def test_a_waiter_that_serves_dns_already_keeps_its_server(tmp_path: Path) -> None:
    import os

    from mydocker.core import dnsserver

    current = object()
    fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(3)]
    assert dnsserver.adopted(current, b'{"hosts": "h", "upstreams": []}', fds) is current  # type: ignore[arg-type]
    for fd in fds:
        try:
            os.fstat(fd)
            raise AssertionError(f"fd {fd} still open")
        except OSError:
            pass
