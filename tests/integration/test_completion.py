"""`mydocker completion bash` through bash's own completion machinery: commands,
subcommands, every flag of a command's parser, and names from the store."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.integration.conftest import MYDOCKER


def _complete(md, script: str, *words: str) -> list[str]:
    """What bash offers for the line `mydocker --root ROOT WORDS...` (the last word
    being the one completed), as a user's TAB would run it."""
    line = " ".join(f"'{w}'" for w in (MYDOCKER, "--root", str(md.root), *words))
    program = (f"{script}\ncomplete -p mydocker >/dev/null || exit 3\n"
               f"COMP_WORDS=({line}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _mydocker\n"
               'printf "%s\\n" "${COMPREPLY[@]}"\n')
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completion_offers_commands_flags_and_names(md):
    from mydocker.cli.commands import rm, run

    script = md.ok("completion", "bash")
    md.ok("create", "--name", "compl-box", "--network", "none", "busybox", "true")
    md.ok("volume", "create", "compl-vol")
    assert _complete(md, script, "re") == ["replay", "restart", "rename"]
    assert _complete(md, script, "rm", "compl") == ["compl-box"]
    assert _complete(md, script, "container", "rm", "compl") == ["compl-box"]
    assert _complete(md, script, "volume", "rm", "comp") == ["compl-vol"]
    assert "busybox:latest" in _complete(md, script, "run", "busy")
    assert {"bridge", "host", "none"} <= set(_complete(md, script, "run", "--network", ""))
    assert "ls" in _complete(md, script, "network", "")
    # every flag the parsers know, and nothing else
    rm_flags = {s for a in rm.parser()._actions for s in a.option_strings if s.startswith("--")}
    assert rm_flags <= set(_complete(md, script, "rm", "--")) and "--force" in rm_flags
    run_flags = {s for a in run.parser()._actions for s in a.option_strings if s.startswith("--device")}
    assert set(_complete(md, script, "run", "--device")) == run_flags
    zsh = md.ok("completion", "zsh")
    assert "bashcompinit" in zsh and script in zsh
    md.ok("rm", "compl-box")
    md.ok("volume", "rm", "compl-vol")
