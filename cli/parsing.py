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

    exit_code = 125


class ArgumentCountError(UsageError):
    """Too few or too many arguments: docker (cobra) exits 1 for these."""

    exit_code = 1


# docker's (cobra's) argument counts: command -> (at least, at most; None: no limit).
# The words of a missing or extra argument follow from them (arity_message).
ARITY: dict[str, tuple[int, int | None]] = {
    **{c: (1, None) for c in ("run", "create", "start", "stop", "kill", "rm", "inspect", "wait", "import", "save",
                              "rmi", "restart", "pause", "unpause", "update", "top", "network rm", "network inspect",
                              "volume rm", "volume inspect", "image inspect")},
    **{c: (1, 1) for c in ("logs", "build", "export", "pull", "push", "history", "diff", "attach",
                           "network create")},
    **{c: (2, 2) for c in ("tag", "rename", "cp", "network connect", "network disconnect")},
    "exec": (2, None), "commit": (1, 2), "port": (1, 2), "completion": (1, 1),
    "images": (0, 1),
    **{c: (0, 0) for c in ("ps", "version", "info", "network ls", "volume ls", "system df",
                           "container prune", "image prune", "volume prune", "network prune", "system df")},
}

# What the user typed when it differs from the module's own name ("container rm"
# runs rm): main sets it, so the words quote the command as typed.
invoked_as: str | None = None


def arity_message(prog: str, command: str) -> str | None:
    counts = ARITY.get(command)
    if counts is None:
        return None
    low, high = counts
    if high == 0:
        words = "accepts no arguments"
    elif low == high:
        words = f"requires exactly {low} argument{'s' if low != 1 else ''}"
    elif low == 0:
        words = f"requires at most {high} argument{'s' if high != 1 else ''}"
    elif high is None:
        words = f"requires at least {low} argument{'s' if low != 1 else ''}"
    else:
        words = f"requires at least {low} and at most {high} arguments"
    return f'"{prog}" {words}. See \'{prog} --help\'.'


def _help_width() -> int:
    """What argparse computes from shutil.get_terminal_size(): $COLUMNS, else the
    terminal's width, else 80; less 2."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns - 2


class Parser(argparse.ArgumentParser):
    def __init__(self, prog: str, description: str = "", **kwargs: object) -> None:
        # subparsers hand down their parent's prog ("mydocker volume create") already whole
        self.command = prog.removeprefix("mydocker ")
        if not prog.startswith("mydocker "):
            prog = f"mydocker {invoked_as or prog}"
        super().__init__(prog=prog, description=description, allow_abbrev=False, **kwargs)  # type: ignore[arg-type]

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse makes a formatter for every add_argument and sizes it through
        # shutil.get_terminal_size; importing shutil (bz2, lzma) cost every command.
        return self.formatter_class(prog=self.prog, width=_help_width())  # type: ignore[call-arg]

    def parse_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def, override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            chosen = self._chosen_subparser(parsed)
            (chosen or self).error(f"unrecognized arguments: {' '.join(extras)}")
        counts = ARITY.get(self.command)
        if counts is not None and counts[1] != 0:
            given = 0
            for action in self._actions:
                if not action.option_strings and action.dest != "help":
                    value = getattr(parsed, action.dest, None)
                    given += len(value) if isinstance(value, list) else int(value is not None)
            if given < counts[0] or (counts[1] is not None and given > counts[1]):
                self._count_error()
        return parsed

    def _chosen_subparser(self, parsed: argparse.Namespace) -> "Parser | None":
        """The subcommand's parser (volume ls), so that its words are the ones shown."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(parsed, action.dest, None) or "")
                return chosen if isinstance(chosen, Parser) else None
        return None

    def _count_error(self) -> NoReturn:
        raise ArgumentCountError(arity_message(self.prog, self.command) or f'"{self.prog}": wrong number of arguments')

    def error(self, message: str) -> NoReturn:
        if message.startswith("the following arguments are required"):
            if self.command in ARITY:
                self._count_error()
            raise UsageError(f'"{self.prog}" requires at least 1 argument. See \'{self.prog} --help\'.')
        if message.startswith("unrecognized arguments: "):
            word = message.split(": ", 1)[1].split(" ")[0]
            if not word.startswith("-"):
                if self.command in ARITY:
                    self._count_error()
                from mydocker.cli.errors import CliError

                raise CliError(unknown_argument(word, self.prog), 1)  # docker: exit 1 for extra arguments
            raise UsageError(unknown_argument(word, self.prog))
        raise UsageError(message)

    def add_subparsers(self, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("action", _SubParsers)
        return super().add_subparsers(**kwargs)

    def format_help(self) -> str:
        return docker_help(self)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)


HELP_WIDTH = 80  # docker wraps its help at the terminal's width, 80 when it has none


def docker_help(p: argparse.ArgumentParser) -> str:
    """docker's (cobra's) help layout, derived from the parser's actions so that
    every command and subcommand gets it: Usage, description, Commands, Options."""
    positionals = [a for a in p._actions if not a.option_strings and a.help != argparse.SUPPRESS]
    options = [a for a in p._actions if a.option_strings and a.help != argparse.SUPPRESS
               and not isinstance(a, argparse._HelpAction)]
    commands = _commands(p, positionals)
    words = [p.prog] + (["[OPTIONS]"] if options else [])
    words += ["COMMAND" if a in commands[0] else _positional_usage(a) for a in positionals]
    usage = p.usage % {"prog": p.prog} if p.usage else " ".join(words)  # a usage argparse's rules cannot spell
    out = [f"\nUsage:  {usage}\n"]
    if p.description:
        out.append(f"\n{p.description}\n")
    if commands[1]:
        width = max(len(name) for name, _ in commands[1]) + 3
        out.append("\nCommands:\n")
        out += [f"  {name:<{width}}{_sentence(text)}\n".rstrip() + "\n" for name, text in commands[1]]
    if options:
        out.append("\nOptions:\n")
        out += _option_lines(options)
    if commands[1]:
        out.append(f"\nRun '{p.prog} COMMAND --help' for more information on a command.\n")
    return "".join(out)


def _commands(p: argparse.ArgumentParser, positionals: list[argparse.Action],
              ) -> tuple[list[argparse.Action], list[tuple[str, str]]]:
    """The positionals that name a subcommand, and (name, help) of every subcommand,
    including those main dispatches to modules of their own (volume prune)."""
    chosen: list[argparse.Action] = []
    listed: dict[str, str] = {}
    for action in positionals:
        if isinstance(action, argparse._SubParsersAction):
            chosen.append(action)
            helps = {c.dest: c.help or "" for c in action._choices_actions}
            for name, sub in action.choices.items():
                if name in helps:
                    listed[name] = helps[name]
                elif not any(sub is other for other in listed.values()):
                    continue  # an alias (ls/list): docker lists the command once
        elif action.choices is not None and action.dest == "action":
            chosen.append(action)
            listed.update({str(c): "" for c in action.choices})
    if chosen:
        from mydocker.cli.main import GROUPS, SUBCOMMAND_HELP

        command = p.prog.removeprefix("mydocker ")
        for name, module in GROUPS.get(command, {}).items():
            listed.setdefault(name, SUBCOMMAND_HELP.get(module, ""))
    return chosen, sorted(listed.items())


def _positional_usage(action: argparse.Action) -> str:
    name = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    if action.nargs == argparse.REMAINDER:
        return name if isinstance(action.metavar, str) else "[COMMAND] [ARG...]"
    if " " in name:
        return name  # already spelled as words (CONTAINER NEW_NAME)
    if action.nargs == "+":
        return f"{name} [{name}...]"
    if action.nargs == "*":
        return f"[{name}...]"
    if action.nargs == "?":
        return f"[{name}]"
    return name


# The value word docker prints after a flag, by the converter the flag uses.
_TYPE_WORDS = {"int": "int", "float": "float", "parse_int": "int", "parse_timeout": "int", "parse_size": "bytes",
               "parse_memory": "bytes", "parse_cpus": "decimal", "parse_decimal": "decimal",
               "parse_duration": "duration"}


def _value_word(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.dest == "filter":
        return "filter"
    if isinstance(action, argparse._AppendAction):
        return "list"
    kind = getattr(action.type, "__qualname__", "").split(".")[0]
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    if "duration" in kind:
        return "duration"
    return "string"


def _option_lines(options: list[argparse.Action]) -> list[str]:
    import textwrap

    rows = []
    for action in options:
        short = next((o for o in action.option_strings if len(o) == 2 and o[1] != "-"), None)
        long = next((o for o in action.option_strings if o.startswith("--")), None)
        flags = f"  {short}, {long}" if short and long else f"  {short}" if short else f"      {long}"
        word = _value_word(action)
        left = f"{flags} {word}" if word else flags
        text = _sentence(action.help or "")
        default = action.default
        if (isinstance(default, (int, float, str)) and not isinstance(default, bool) and default != ""
                and "default" not in text):
            text = f"{text} (default {default})".strip()
        rows.append(((long or short or "").lstrip("-"), left, text))
    rows.sort()
    column = max(len(left) for _, left, _ in rows) + 3
    lines = []
    for _, left, text in rows:
        wrapped = textwrap.wrap(text, max(HELP_WIDTH - column, 20), break_on_hyphens=False,
                                break_long_words=False) or [""]
        lines.append(f"{left:<{column}}{wrapped[0]}".rstrip() + "\n")
        lines += [f"{'':<{column}}{more}\n" for more in wrapped[1:]]
    return lines


def _sentence(text: str) -> str:
    text = text.replace("%%", "%")
    first = text.split(" ", 1)[0]
    if not first.isalpha():
        return text  # a value spelled as typed (seccomp=unconfined, os/arch) keeps its case
    return text[:1].upper() + text[1:]


class _SubParsers(argparse._SubParsersAction):
    """A subcommand's help line is also its own help's description (network create)."""

    def add_parser(self, name, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("help") and not kwargs.get("description"):
            kwargs["description"] = _sentence(kwargs["help"])
        return super().add_parser(name, **kwargs)


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
