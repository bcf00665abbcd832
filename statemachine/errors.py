"""Errors a user can cause, each with docker's wording and exit code."""

from __future__ import annotations


class UserError(Exception):
    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class NoSuchContainer(UserError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No such container: {ref}")
        self.ref = ref


class NoSuchImage(UserError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No such image: {ref}")


class IllegalTransition(UserError):
    """The state machine refused the command; nothing was changed."""


class Conflict(UserError):
    """What the command asks for collides with what is there (a name taken, a
    stream that keeps changing)."""
