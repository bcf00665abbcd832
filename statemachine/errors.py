"""Errors a user can cause, typed by what went wrong and worded as docker words them.

Which exit code (or, for the API server, which HTTP status) each type means is
the caller's choice: cli/errors.py has the table. No exit code lives here.
"""

from __future__ import annotations


class UserError(Exception):
    """Anything the user can be told in one line; no more specific type fits."""

    def __init__(self, message: str) -> None:  # one message, no exit code: cli/errors.py chooses that
        super().__init__(message)


class NotFound(UserError):
    """No container, image, volume or network by that reference."""


class InvalidArgument(UserError):
    """A value the user gave is not acceptable (a name, a reference, a subnet, a port)."""


class Conflict(UserError):
    """What the command asks for collides with what is there (a name taken, a
    stream that keeps changing, a state that does not allow it)."""


class CreateFailed(UserError):
    """The container could not be created or given what it needs (its network,
    its image's layer)."""


class ExecFailed(UserError):
    """The runtime could not run an exec's command; status is what exec returns."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class NoSuchContainer(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No such container: {ref}")
        self.ref = ref


class NoSuchImage(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No such image: {ref}")


class IllegalTransition(Conflict):
    """The state machine refused the command; nothing was changed."""
