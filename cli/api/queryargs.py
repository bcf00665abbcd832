"""Query parameters as dockerd reads them: booleans, integers, the filters JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web
from mydocker.cli.api.errors import bad_request

T = TypeVar("T")
TRUE = {"1", "true", "True", "TRUE", "yes"}
FALSE = {"", "0", "false", "False", "FALSE", "no"}


def flag(request: web.Request, name: str, default: bool = False) -> bool:
    text = request.query.get(name)
    if text is None:
        return default
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise bad_request(f'invalid value for {name}: "{text}"')


def integer(request: web.Request, name: str, default: int | None = None) -> int | None:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise bad_request(f'strconv.Atoi: parsing "{text}": invalid syntax ({name})') from None


def filters(request: web.Request) -> list[str]:
    """`filters` as docker sends it ({"key": ["v"]} or the old {"key": {"v": true}}),
    turned into the CLI's key=value strings."""
    text = request.query.get("filters")
    if not text:
        return []
    try:
        raw = json.loads(text)
    except ValueError:
        raise bad_request(f"invalid filter: {text}") from None
    if not isinstance(raw, dict):
        raise bad_request(f"invalid filter: {text}")
    out: list[str] = []
    for key, values in raw.items():
        if isinstance(values, dict):
            values = [v for v, on in values.items() if on]
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise bad_request(f"invalid filter: {text}")
        out += [f"{key}={v}" for v in values]
    return out


def by_filters(select: Callable[..., T], ctx: Any, wanted: list[str], *args: Any) -> T:
    """select(ctx, wanted, *args), the CLI's own list or prune, with a filter key or
    value docker does not know (its UserError) answered 400, as dockerd does."""
    from mydocker.statemachine.errors import UserError

    try:
        return select(ctx, wanted, *args)
    except UserError as exc:
        raise bad_request(str(exc)) from None
