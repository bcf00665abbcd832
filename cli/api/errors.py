"""The one table from a typed error to the Engine API's HTTP status, and the
body dockerd answers with: {"message": "..."}."""

from __future__ import annotations

import json

from aiohttp import web
from mydocker.cli.parsing import UsageError
from mydocker.statemachine.errors import Conflict, CreateFailed, InvalidArgument, NotFound, UserError


class ApiError(Exception):
    """What a handler refuses with a status of its own (304, 400 for a bad query...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# First match wins: subclasses before their bases.
STATUS: list[tuple[type[BaseException], int]] = [
    (NotFound, 404),
    (InvalidArgument, 400),
    (UsageError, 400),  # a create body turned into flags that the CLI's checks refuse
    (json.JSONDecodeError, 400),
    (Conflict, 409),
    (CreateFailed, 500),
    (UserError, 500),
]


def status_of(exc: BaseException) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_response(status: int, message: str) -> web.Response:
    if status == 304:  # dockerd: "not modified" has no body
        return web.Response(status=304)
    # exactly application/json (no charset): docker's client parses the message only then
    return web.Response(body=json.dumps({"message": message}).encode(), status=status,
                        content_type="application/json")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)
