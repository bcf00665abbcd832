"""cli.main: the program leaves without the interpreter's teardown (10-20 ms of a
`run` spent freeing modules), with its output flushed and its exit code kept;
called in-process with an argv, main() returns as before."""

from __future__ import annotations

import subprocess
import sys

from mydocker.cli import main as cli_main

# An atexit hook stands for the teardown: it runs only on the interpreter's ordinary exit.
PROGRAM = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("torn down\\n"))
sys.argv = ["mydocker", *sys.argv[1:]]
from mydocker.cli.main import main
sys.exit(main())
"""


def program(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROGRAM, *args], capture_output=True, text=True, timeout=60)


def test_the_program_skips_teardown_and_keeps_output_and_code() -> None:
    done = program("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("Usage:  mydocker") and done.stdout.endswith("\n")  # flushed into a pipe
    assert "torn down" not in done.stderr
    bad = program("--bogus")
    assert bad.returncode == 125
    assert bad.stderr.strip() == "Error: unknown flag: --bogus"


def test_a_caller_in_process_gets_the_code_back(capsys) -> None:
    assert cli_main.main(["--help"]) == 0
    assert capsys.readouterr().out.startswith("Usage:  mydocker")
