"""How every error reaches the user: `Error: ...`, one line on stderr, and
docker's exit code for it.

Messages often quote what the user typed; a newline or control character in
it must not split the line or reach the terminal raw."""

from __future__ import annotations

import sys

from mydocker.statemachine.errors import UserError

# docker: run and create exit 125 for whatever stopped the container from being
# made (the daemon's refusal included); network's commands are daemon requests,
# 1 whatever the cause, as volume's are. Elsewhere the type decides (EXIT_CODES).
COMMAND_EXIT_CODES = {"run": 125, "create": 125, "network": 1, "volume": 1}


class CliError(UserError):
    """What the CLI itself finds wrong (a template, a terminal, an extra word),
    with the exit code docker's CLI gives it, whatever the command."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def exit_code(exc: UserError, command: str) -> int:
    """The one table from a service's typed error to docker's exit code."""
    from mydocker.statemachine.errors import CreateFailed, ExecFailed, InvalidArgument

    if isinstance(exc, CliError):
        return exc.exit_code
    if isinstance(exc, ExecFailed):
        return exc.status  # the exec'd command's own: 126 not executable, 127 not found
    if command in COMMAND_EXIT_CODES:
        return COMMAND_EXIT_CODES[command]
    if isinstance(exc, (InvalidArgument, CreateFailed)):
        return 125  # docker's for a bad flag value, whichever command took it
    return 1  # NotFound, Conflict, IllegalTransition and the rest: the daemon said no


def one_line(message: object) -> str:
    text = str(message)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def report(message: object) -> None:
    sys.stderr.write(f"Error: {one_line(message)}\n")
