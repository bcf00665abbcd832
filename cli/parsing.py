"""Argument parsing shared by the commands: docker's flag habits, our errors,
and validators for the values users type (sizes, signals, durations)."""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from typing import NoReturn


class UsageError(Exception):
    """Bad flags or values: one line on stderr, exit 125, nothing changed."""


class Parser(argparse.ArgumentParser):
    def __init__(self, prog: str, description: str = "", **kwargs: object) -> None:
        # subparsers hand down their parent's prog ("mydocker volume create") already whole
        prog = prog if prog.startswith("mydocker ") else f"mydocker {prog}"
        super().__init__(prog=prog, description=description, allow_abbrev=False, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        if message.startswith("the following arguments are required"):
            raise UsageError(f'"{self.prog}" requires at least 1 argument. See \'{self.prog} --help\'.')
        if message.startswith("unrecognized arguments: "):
            word = message.split(": ", 1)[1].split(" ")[0]
            if not word.startswith("-"):
                from mydocker.cli.errors import CliError

                raise CliError(unknown_argument(word, self.prog), 1)  # docker: exit 1 for extra arguments
            raise UsageError(unknown_argument(word, self.prog))
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)


def unknown_argument(word: str, prog: str) -> str:
    """docker's (cobra's) words for what no flag or argument takes."""
    if word.startswith("--"):
        return f"unknown flag: {word.split('=', 1)[0]}"
    if word.startswith("-") and len(word) > 1:
        return f"unknown shorthand flag: {word[1]!r} in {word}"
    return f'"{prog}" accepts no arguments. See \'{prog} --help\'.'


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?", re.IGNORECASE | re.ASCII)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_size(text: str) -> int:
    """docker's RAMInBytes: 32m, 1g, 512k, 1048576 (binary units)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise UsageError(f"invalid size: {text!r}")
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not value < 2**63:
        raise UsageError(f"invalid size: {text!r} is too large")
    return int(value)


def parse_memory(text: str) -> int | None:
    value = parse_size(text)
    if value == 0:
        return None  # docker: -m 0 is no limit
    if value < 6 * 1024 * 1024:
        raise UsageError("Minimum memory limit allowed is 6MB")
    return value


def parse_cpus(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"invalid argument {text!r} for --cpus: must be a number") from None
    available = os.cpu_count() or 1
    if not 0.01 <= value <= available:
        raise UsageError(f"range of CPUs is from 0.01 to {available:.2f}, as there are only {available} CPUs available")
    return value


_CPUSET = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*", re.ASCII)


def parse_cpuset(text: str) -> str:
    if not _CPUSET.fullmatch(text):
        raise UsageError(f"invalid value {text!r} for --cpuset-cpus")
    available = os.cpu_count() or 1
    for part in text.split(","):
        bounds = [int(x) for x in part.split("-")]
        if bounds[-1] < bounds[0] or bounds[-1] >= available:
            raise UsageError(f"Requested CPUs are not available - requested {text}, available: 0-{available - 1}")
    return text


def parse_int(name: str, minimum: int | None = None, maximum: int | None = None):  # type: ignore[no-untyped-def]
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise UsageError(f"invalid argument {text!r} for {name}: not an integer") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise UsageError(f"invalid argument {text!r} for {name}: out of range")
        return value

    return convert


def parse_signal(text: str) -> int:
    """9, KILL, SIGKILL, sigkill."""
    raw = text.strip().upper()
    if raw.isascii() and raw.isdecimal():
        number = int(raw)
        if 1 <= number <= signal.SIGRTMAX:
            return number
        raise UsageError(f"Invalid signal: {text}")
    name = raw if raw.startswith("SIG") else f"SIG{raw}"
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise UsageError(f"Invalid signal: {text}") from None


def parse_timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"invalid argument {text!r} for --time: not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise UsageError(f"invalid argument {text!r} for --time: not a finite number")
    if value < 0:
        return 1e9  # docker: a negative timeout waits forever
    return value
