"""A small subset of Go's text/template, enough for docker's --format habits:
{{.Field}}, {{.A.B}}, {{json .X}}, {{upper .X}}, {{lower .X}}, {{index .M "k"}},
{{join .List ","}}, and `table` / `json` as ps understands them."""

from __future__ import annotations

import functools
import json
import re
import shlex
from typing import Any

from mydocker.cli.parsing import UsageError

_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}", re.DOTALL)


def unescape(fmt: str) -> str:
    return fmt.replace("\\t", "\t").replace("\\n", "\n")


def render(fmt: str, data: Any) -> str:
    out, pos = [], 0
    for match in _ACTION.finditer(fmt):
        out.append(fmt[pos : match.start()])
        out.append(_evaluate(match.group(1), data))
        pos = match.end()
    out.append(fmt[pos:])
    return "".join(out)


def check(fmt: str, sample: Any) -> None:
    """Fail before anything is printed if the template cannot render."""
    render(fmt, sample)


@functools.cache
def _split(expr: str) -> list[str]:
    """Once per distinct expression, not once per row: `ps` renders every row
    through the template."""
    return shlex.split(expr)


def _evaluate(expr: str, data: Any) -> str:
    try:
        words = list(_split(expr))
    except ValueError as exc:
        raise UsageError(f"template: {exc}") from None
    if not words:
        raise UsageError("template: missing value for command")
    func, args = (words[0], words[1:]) if not words[0].startswith(".") else ("", words)
    values = [_lookup(a, data) if a.startswith(".") else a for a in args]
    if func == "":
        if len(values) != 1:
            raise UsageError(f"template: can't give argument to non-function {args[0]}")
        return _text(values[0])
    if func == "json" and len(values) == 1:
        return json.dumps(values[0], separators=(",", ":"))
    if func in ("upper", "lower") and len(values) == 1:
        return getattr(_text(values[0]), func)()
    if func == "index" and len(values) == 2:
        container, key = values
        try:
            return _text(container[key] if isinstance(container, dict) else container[int(key)])
        except (KeyError, IndexError, ValueError, TypeError):
            return "<no value>"
    if func == "join" and len(values) == 2:
        return str(values[1]).join(_text(v) for v in values[0] or [])
    raise UsageError(f'template: function "{func}" not defined or wrong arguments')


class GoMap(dict):  # type: ignore[type-arg]
    """A map in Go's sense: a missing key renders as <no value> instead of
    failing the way a missing struct field does (docker's Labels, Attributes)."""


def _lookup(path: str, data: Any) -> Any:
    value = data
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, GoMap):
            return "<no value>"
        else:
            raise UsageError(f"template: can't evaluate field {part}")
    return value


def _text(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return _go_repr(value)
    return str(value)


def _go_repr(value: Any) -> str:
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_repr(v)}" for k, v in value.items()) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_repr(v) for v in value) + "]"
    return _text(value)


def table(rows: list[list[str]]) -> str:
    """Go's tabwriter as docker sets it up: cells padded to the widest + 3, min 10;
    the last column is not padded."""
    if not rows:
        return ""
    columns = max(len(r) for r in rows)
    widths = [0] * columns
    for r in rows:
        for i, cell in enumerate(r[:-1]):
            widths[i] = max(widths[i], len(cell))
    widths = [max(w + 3, 10) for w in widths]
    lines = []
    for r in rows:
        cells = [cell.ljust(widths[i]) if i < len(r) - 1 else cell for i, cell in enumerate(r)]
        lines.append("".join(cells).rstrip() if r and not r[-1] else "".join(cells))
    return "\n".join(lines) + "\n"


def print_objects(found: list[Any], fmt: str | None) -> None:
    """What every inspect prints: one rendered line per object with --format,
    else docker's indented JSON array."""
    import sys

    if fmt:
        fmt = unescape(fmt)
        sys.stdout.write("".join(render(fmt, item) + "\n" for item in found))
    else:
        sys.stdout.write(json.dumps(found, indent=4, ensure_ascii=False) + "\n")
