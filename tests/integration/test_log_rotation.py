"""--log-opt max-size/max-file and --log-driver none, as docker 20.10 (compared
side by side: 100 lines of 103 bytes with max-size=1k, max-file=3 leave three
files and `logs` shows the last 30). One state root for the module."""

from __future__ import annotations

import os

import pytest

from tests.integration.conftest import _checked_runtime

pytestmark = pytest.mark.integration

LINES = 'i=0; while [ $i -lt 100 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done'


@pytest.fixture(scope="module")
def md(tmp_path_factory: pytest.TempPathFactory):
    yield from _checked_runtime(tmp_path_factory.mktemp("logs"))


def test_logs_read_across_the_rotated_files(md):
    md.ok("run", "-d", "--name", "rot", "--network", "none", "--log-opt", "max-size=1k", "--log-opt", "max-file=3",
          "busybox", "sh", "-c", LINES)
    assert md.ok("wait", "rot").strip() == "0"
    out = md.ok("logs", "rot").splitlines()
    assert out == [f"line-{i}-xxxxxxxxxxxxxxxxxxxxxxxx" for i in range(70, 100)]
    assert md.ok("logs", "--tail", "2", "rot").splitlines() == out[-2:]
    info = md.inspect("rot")
    assert info["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "1k"}}
    directory = os.path.dirname(info["LogPath"])
    assert sorted(n for n in os.listdir(directory) if n.startswith("container.log")) == [
        "container.log", "container.log.1", "container.log.2"]
    md.ok("rm", "rot")


def test_log_driver_none_keeps_nothing_and_logs_says_so(md):
    out = md.ok("run", "--name", "quiet", "--network", "none", "--log-driver", "none", "busybox", "echo", "hi")
    assert out == "hi\n"  # the terminal still gets it
    result = md("logs", "quiet")
    assert (result.code, result.out) == (1, "")
    assert result.err == "Error: configured logging driver does not support reading\n"
    assert md.inspect("quiet")["LogPath"] == ""
    md.ok("rm", "quiet")


def test_bad_log_options_are_refused_and_nothing_is_made(md):
    result = md("run", "--log-opt", "max-size=abc", "busybox", "true")
    assert (result.code, result.err) == (125, "Error: failed to initialize logging driver: invalid size: 'abc'\n")
    result = md("run", "--log-opt", "foo=bar", "busybox", "true")
    assert (result.code, result.err) == (125, "Error: unknown log opt 'foo' for json-file log driver\n")
    assert md.ok("ps", "-aq") == ""
