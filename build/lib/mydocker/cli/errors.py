"""How every error reaches the user: `Error: ...`, one line on stderr.

Messages often quote what the user typed; a newline or control character in
it must not split the line or reach the terminal raw."""

from __future__ import annotations

import sys


def one_line(message: object) -> str:
    text = str(message)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def report(message: object) -> None:
    sys.stderr.write(f"Error: {one_line(message)}\n")
