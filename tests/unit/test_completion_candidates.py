"""The bash completion's candidates for subcommands, from the parsers, and its
install by `make demo` (the completion-install step), run twice."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from mydocker.cli.commands import completion, system
from mydocker.cli.main import GROUPS

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")


def candidates(*words: str) -> list[str]:
    """What TAB offers after `mydocker WORDS...` (the last word being completed)."""
    line = " ".join(f"'{w}'" for w in ("mydocker", *words))
    program = (f"{completion.bash_script()}\n"
               f"COMP_WORDS=({line}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _mydocker\n"
               'printf "%s\\n" "${COMPREPLY[@]}"\n')
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True,
                         timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_system_tab_offers_every_system_subcommand() -> None:
    actions = next(a for a in system.parser()._actions if a.dest == "action").choices
    expected = {*actions, *GROUPS["system"]}  # type: ignore[misc]
    assert {"check", "prune", "reset", "restore", "df"} <= expected
    offered = candidates("system", "")
    assert set(offered) == expected | {s for s in offered if s.startswith("-")}
    assert candidates("system", "re") == ["reset", "restore"]
    assert "--orphans" in candidates("system", "check", "--")


def test_completion_install_writes_the_script_once(tmp_path: Path) -> None:
    if not (REPO / ".venv" / "bin" / "mydocker").exists():
        pytest.skip("no .venv: make install first")
    target = tmp_path / "completions"
    make = ["make", "-s", "-C", str(REPO), "completion-install", f"COMPLETION_DIR={target}"]
    first = subprocess.run(make, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    script = target / "mydocker"
    assert script.read_text() == completion.bash_script()
    stamp = script.stat().st_mtime_ns
    again = subprocess.run(make, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stdout == ""
    assert script.stat().st_mtime_ns == stamp and sorted(p.name for p in target.iterdir()) == ["mydocker"]
