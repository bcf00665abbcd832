"""The service's address and version rules, without a socket."""

from __future__ import annotations

import pytest
from mydocker.cli.api.app import check_version
from mydocker.cli.api.errors import ApiError, status_of
from mydocker.cli.api.server import parse_listen
from mydocker.cli.parsing import UsageError
from mydocker.statemachine.errors import (
    Conflict,
    CreateFailed,
    IllegalTransition,
    InvalidArgument,
    NoSuchContainer,
    UserError,
)


def test_default_listen_is_the_roots_socket() -> None:
    assert str(parse_listen(None, "/r")) == "unix:///r/mydocker.sock"
    assert str(parse_listen("unix:///run/x.sock", "/r")) == "unix:///run/x.sock"


@pytest.mark.parametrize("text", ["tcp://127.0.0.1:2375", "tcp://localhost:0", "tcp://[::1]:2375",
                                  "tcp://127.0.0.2:80"])
def test_tcp_on_loopback_is_served(text: str) -> None:
    assert parse_listen(text, "/r").kind == "tcp"


@pytest.mark.parametrize("text", ["tcp://0.0.0.0:2375", "tcp://10.0.0.1:2375", "tcp://example.com:2375",
                                  "tcp://127.0.0.1", "tcp://127.0.0.1:99999", "unix://relative.sock",
                                  "http://127.0.0.1:2375"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_listen(text, "/r")


def test_versions_outside_what_dockerd_20_10_serves_are_400() -> None:
    check_version("1.41")
    check_version("1.24")
    for text, words in (("1.42", "too new"), ("1.11", "too old"), ("1", "too old")):
        with pytest.raises(ApiError, match=words) as caught:
            check_version(text)
        assert caught.value.status == 400


def test_one_table_maps_typed_errors_to_statuses() -> None:
    assert status_of(NoSuchContainer("x")) == 404
    assert status_of(InvalidArgument("x")) == 400
    assert status_of(UsageError("x")) == 400
    assert status_of(IllegalTransition("x")) == 409
    assert status_of(Conflict("x")) == 409
    assert status_of(CreateFailed("x")) == 500
    assert status_of(UserError("x")) == 500
    assert status_of(RuntimeError("x")) == 500
    assert status_of(ApiError(304, "")) == 304


def test_finished_exec_instances_are_forgotten_past_a_bound() -> None:
    import asyncio

    from mydocker.cli.api import exec as api_exec

    async def fill() -> dict:
        instances = {}
        for n in range(api_exec.KEPT + 10):
            instance = api_exec.ExecInstance(str(n), "c", ["true"], [], "", "", False, False, True, True)
            instance.exit_code = 0 if n != 0 else None  # the first is still running
            instances[str(n)] = instance
        api_exec._forget_finished(instances)
        return instances

    kept = asyncio.run(fill())
    assert len(kept) == api_exec.KEPT
    assert "0" in kept and "1" not in kept and str(api_exec.KEPT + 9) in kept
