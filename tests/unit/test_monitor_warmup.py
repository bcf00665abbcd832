"""The monitor of a bridge container imports pyroute2 on a thread while its init
prepares the rootfs (statemachine/monitorhooks.py warm_up); other modes load nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# In a fresh interpreter: whether pyroute2 was loaded before the join, and after it.
PROBE = """
import json, sys
from mydocker.statemachine.monitorhooks import RecordingHooks
from mydocker.statemachine.queries import ContainerView
mode = sys.argv[2]
config = {"spec": {"network": mode}, "network": {"mode": mode}}
hooks = RecordingHooks(sys.argv[1], ContainerView({"id": "c" * 64, "name": "x", "config": json.dumps(config)}))
before = "pyroute2" in sys.modules
join = hooks.warm_up()
if join is not None:
    join()
print(json.dumps({"before": before, "joined": join is not None, "after": "pyroute2" in sys.modules}))
"""


def warm_up(tmp_path: Path, mode: str) -> dict[str, bool]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "root"), mode],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return json.loads(out)


def test_a_bridge_container_has_pyroute2_loaded_once_joined(tmp_path: Path) -> None:
    assert warm_up(tmp_path, "bridge") == {"before": False, "joined": True, "after": True}


@pytest.mark.parametrize("mode", ["none", "host"])
def test_other_network_modes_load_no_network_code(tmp_path: Path, mode: str) -> None:
    assert warm_up(tmp_path, mode) == {"before": False, "joined": False, "after": False}
