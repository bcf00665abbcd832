"""The Engine API service driven by real clients: the docker CLI (20.10), the docker
Python package and raw HTTP, on one service per module over a checked temp root."""

from __future__ import annotations

import json

import pytest

from tests.integration.api_service import ApiService, serve_api


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    yield from serve_api(tmp_path_factory, "containers")


def test_ping_version_and_headers(api: ApiService) -> None:
    ping = api.request("GET", "/_ping")
    assert (ping.status, ping.body) == (200, b"OK")
    assert ping.headers["Api-Version"] == "1.41" and ping.headers["Ostype"] == "linux"
    assert api.request("HEAD", "/_ping").status == 200
    version = api.request("GET", "/v1.41/version").json()
    assert version["ApiVersion"] == "1.41" and version["Os"] == "linux"
    out = api.docker("version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}")
    assert (out.returncode, out.stdout.strip()) == (0, "1.41 linux"), out.stderr


def test_version_too_new_unknown_path_and_unknown_container(api: ApiService) -> None:
    too_new = api.request("GET", "/v1.42/version")
    assert too_new.status == 400 and "too new" in too_new.json()["message"]
    assert api.request("GET", "/v1.41/nothing/here").status == 404
    missing = api.request("GET", "/v1.41/containers/nope/json")
    assert (missing.status, missing.json()) == (404, {"message": "No such container: nope"})
    assert json.loads(api.request("GET", "/containers/json?all=1").body) == []
