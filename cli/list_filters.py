"""`--filter key=value` for the small list commands (volume ls, network ls):
docker's parsing and words; the same key ORs its values (every label must
match), different keys AND."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mydocker.cli.errors import CliError
from mydocker.statemachine.errors import UserError

BOOLS = {"true": True, "1": True, "false": False, "0": False}


def parse(texts: list[str], keys: Iterable[str]) -> dict[str, list[str]]:
    allowed = set(keys)
    out: dict[str, list[str]] = {}
    for text in texts:
        key, eq, value = text.partition("=")
        if not eq:
            raise CliError(f'invalid argument "{text}" for "-f, --filter" flag: '
                           "bad format of filter (expected name=value)", 125)
        if key not in allowed:
            raise UserError(f"Invalid filter '{key}'")
        if key == "dangling" and value.lower() not in BOOLS:
            raise UserError(f"Invalid filter 'dangling=[{value}]'")
        out.setdefault(key, []).append(value)
    return out


def label_matches(labels: dict[str, str], want: str) -> bool:
    key, eq, value = want.partition("=")
    return key in labels and (not eq or labels[key] == value)


def select(items: list[Any], filters: dict[str, list[str]],
           matchers: dict[str, Callable[[Any, str], bool]]) -> list[Any]:
    def holds(item: Any, key: str, values: list[str]) -> bool:
        combine = all if key == "label" else any  # docker: every label filter must hold
        return combine(matchers[key](item, value) for value in values)

    return [item for item in items if all(holds(item, key, values) for key, values in filters.items())]
