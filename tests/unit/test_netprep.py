"""statemachine.netprep: `run`'s network helper connects the container in its own
process (forked before the CLI creates the container, so pyroute2's import overlaps
that work), as the monitor: same command, the monitor's pid in the log's actor."""

from __future__ import annotations

import os
from typing import Any

import pytest
from mydocker.core import monitor
from mydocker.statemachine import netprep, networks
from mydocker.statemachine.context import Context


@pytest.fixture
def fake_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """networks.connect_all as seen from the process that runs it (the helper is a
    fork of this one, so it inherits the patch)."""

    def connect_all(ctx: Context, container_id: str, config: dict[str, Any], pid: int) -> dict[str, Any]:
        if config.get("fail"):
            raise networks.NotFound("Bind for 0.0.0.0:80 failed: port is already allocated")
        return {"ran_in": os.getpid(), "actor": ctx.actor(), "id": container_id, "pid": pid,
                "pyroute2": "pyroute2" in __import__("sys").modules}

    monkeypatch.setattr(networks, "connect_all", connect_all)
    yield
    netprep.release()


def test_the_helper_connects_as_the_monitor(tmp_path, fake_connect) -> None:
    netprep.start(str(tmp_path))
    assert netprep.waiting() and len(monitor.inherited_fds) == 2  # the monitor keeps them across its fd sweep
    endpoint = netprep.connect_all(Context(str(tmp_path), "monitor connect"), "c1", {}, 4242)
    assert endpoint is not None
    assert endpoint["ran_in"] != os.getpid()  # another process did it...
    assert endpoint["actor"]["pid"] == os.getpid()  # ...recorded as ours
    assert endpoint["actor"]["command"] == "monitor connect"
    assert (endpoint["id"], endpoint["pid"]) == ("c1", 4242)
    assert endpoint["pyroute2"]  # loaded before the request came
    assert not netprep.waiting()  # one request per helper; a second one connects here


def test_a_failure_reaches_the_monitor_in_its_words(tmp_path, fake_connect) -> None:
    netprep.start(str(tmp_path))
    with pytest.raises(RuntimeError, match="^Bind for 0.0.0.0:80 failed: port is already allocated$"):
        netprep.connect_all(Context(str(tmp_path), "monitor connect"), "c1", {"fail": True}, 1)


def test_without_a_helper_the_caller_connects(tmp_path, fake_connect) -> None:
    netprep.start(str(tmp_path))
    netprep.release()  # `run` after its monitor reported: the helper waits for nobody
    assert monitor.inherited_fds == []
    endpoint = netprep.connect_all(Context(str(tmp_path), "monitor connect"), "c1", {}, 1)
    assert endpoint is not None and endpoint["ran_in"] == os.getpid()
