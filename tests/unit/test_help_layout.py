"""--help of every command and subcommand in docker's (cobra's) layout."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import shutil
import subprocess

import pytest
from mydocker.cli.main import COMMANDS, GROUPS, main
from mydocker.cli.parsing import Parser

MODULES = sorted({m for m in COMMANDS if m not in ("container", "image")}
                 | {m for group in GROUPS.values() for m in group.values()})

# "  -d, --detach   text", "      --add-host list   text", or a wrapped text line
OPTION = re.compile(r"(  -\w, --[\w-]+|      --[\w-]+|  -\w)( [a-z0-9-]+)?   +\S.*")
CONTINUED = re.compile(r" {8,}\S.*")


def every_parser() -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for module in MODULES:
        parser = importlib.import_module(f"mydocker.cli.commands.{module}").parser()
        found.append((module, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found += [(f"{module} {name}", sub) for name, sub in action.choices.items()]
    return found


def check_layout(text: str, prog: str) -> None:
    assert text.startswith(f"\nUsage:  {prog}"), text[:80]
    assert "usage:" not in text and "positional arguments" not in text
    sections = re.findall(r"^(\w+):$", text, re.MULTILINE)
    assert sections in ([], ["Options"], ["Commands"], ["Commands", "Options"]), sections
    if "Options" in sections:
        block = text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
        lines = block.splitlines()
        assert lines and OPTION.fullmatch(lines[0]), lines[:1]
        starts = set()
        for line in lines:
            assert OPTION.fullmatch(line) or CONTINUED.fullmatch(line), line
            if OPTION.fullmatch(line):
                starts.add(re.search(r"(?<=\S)   +", line).end())  # type: ignore[union-attr]
        assert len(starts) == 1, f"{prog}: the texts do not share one column"
    if "Commands" in sections:
        assert f"Run '{prog} COMMAND --help' for more information on a command." in text


@pytest.mark.parametrize(("name", "parser"), every_parser(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_help_has_docker_layout(name: str, parser: argparse.ArgumentParser) -> None:
    assert isinstance(parser, Parser)
    check_layout(parser.format_help(), parser.prog)


def help_of(*argv: str) -> str:
    return main_out(*argv)


def test_help_flags_exit_zero_on_stdout() -> None:
    assert help_of("stop", "--help") == help_of("stop", "-h")
    assert help_of("network", "create", "--help").startswith("\nUsage:  mydocker network create [OPTIONS] NETWORK\n"
                                                            "\nCreate a network\n")


def test_option_rows_carry_docker_value_words() -> None:
    text = help_of("update", "--help")
    assert re.search(r"^  -m, --memory bytes +Memory limit$", text, re.MULTILINE)
    assert re.search(r"^      --cpus decimal +Number of CPUs$", text, re.MULTILINE)
    assert re.search(r"^      --pids-limit int +", text, re.MULTILINE)
    run = help_of("run", "--help")
    assert re.search(r"^  -d, --detach +Run in ", run, re.MULTILINE)
    assert re.search(r"^  -e, --env list +", run, re.MULTILINE)
    assert not re.search(r"-mem\b", run)  # single-dash aliases are not shown, as docker has none


def test_group_help_lists_every_subcommand_once() -> None:
    text = help_of("network", "--help")
    names = re.findall(r"^  (\w+) ", text.split("Commands:\n")[1], re.MULTILINE)
    assert names == sorted(names) and "prune" in names and "list" not in names
    container = main_out("container", "--help")
    assert container.startswith("\nUsage:  mydocker container COMMAND\n\nManage containers\n\nCommands:\n")
    assert "  ls " in container and "  list " not in container and "  ps " not in container


def main_out(*argv: str) -> str:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = main(list(argv))
    except SystemExit as done:  # argparse's help action ends the parse this way
        code = done.code  # type: ignore[assignment]
    assert code == 0
    return out.getvalue()


DOCKER = shutil.which("docker")


@pytest.mark.skipif(DOCKER is None, reason="docker's CLI is not installed")
@pytest.mark.parametrize("command", ["stop", "run", "top", "rename", "kill", "rm", "update", "exec", "cp", "commit",
                                     "tag", "logs", "port", "network create", "volume ls", "images"])
def test_usage_line_and_shape_match_docker(command: str) -> None:
    theirs = subprocess.run([DOCKER, *command.split(), "--help"], capture_output=True, text=True,  # type: ignore[list-item]
                            check=True).stdout
    ours = help_of(*command.split(), "--help")
    usage = next(line for line in theirs.splitlines() if line.startswith("Usage:"))
    assert usage.replace("docker", "mydocker", 1) in ours.splitlines()
    # docker 20.10 opens with a blank line, later ones do not and add an Aliases section
    theirs = "\n" + re.sub(r"\nAliases:\n.*\n", "", theirs.lstrip("\n")).replace("docker", "mydocker")
    check_layout(theirs, f"mydocker {command}")
