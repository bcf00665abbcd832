"""A real, non-editable install: build the wheel from a copy of the sources, install
it into a fresh venv (dependencies resolved by pip as a user's would be) and run a
container with it. An editable install hides what the wheel forgets to ship."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "README.md", "cli", "core", "statemachine", "store", "migrations"]


def _quiet(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{cmd} -> {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


def test_wheel_installs_into_a_fresh_venv_and_runs_a_container(md, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    # A copy: building in place would leave build/ and *.egg-info in the checkout.
    files = _quiet(["git", "-C", str(REPO), "ls-files", "--", *SOURCES]).stdout.split()
    assert files, "not a git checkout"
    _quiet(["tar", "-C", str(REPO), "-cf", str(tmp_path / "src.tar"), *files])
    _quiet(["tar", "-C", str(source), "-xf", str(tmp_path / "src.tar")])
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _quiet([*pip, "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(source)])
    [wheel] = (tmp_path / "dist").glob("mydocker-*.whl")

    venv = tmp_path / "venv"
    _quiet([sys.executable, "-m", "venv", str(venv)])
    _quiet([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
           cwd=tmp_path)
    where = _quiet([str(venv / "bin/python"), "-c",
                    "import mydocker.store.db as m, mydocker.migrations as g; print(m.__file__, g.__file__)"],
                   cwd=tmp_path).stdout.split()
    assert all(path.startswith(str(venv)) for path in where), where

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = subprocess.run(
        [str(venv / "bin/mydocker"), "--root", str(md.root), "run", "--rm", "busybox", "sh", "-c",
         "echo installed; ip -4 addr show eth0 | grep -c inet"],
        capture_output=True, text=True, timeout=120, env={**env, **md.env}, cwd=tmp_path,
        stdin=subprocess.DEVNULL)
    assert (run.returncode, run.stdout, run.stderr) == (0, "installed\n1\n", "")
    md.ok("replay", "--check")
