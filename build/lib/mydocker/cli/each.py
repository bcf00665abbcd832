"""docker's way with several containers: act on each, report each failure on
its own line, go on, and exit 1 if any failed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mydocker.cli.errors import report


def for_each(refs: list[str], action: Callable[[str], Any], skip: type[Exception] | None = None) -> int:
    """action(ref) returns what to print (None prints nothing); an exception of
    type `skip` is silently ignored (rm -f of a missing container)."""
    from mydocker.statemachine.errors import UserError

    code = 0
    for ref in refs:
        try:
            shown = action(ref)
            if shown is not None:
                print(shown, flush=True)
        except UserError as exc:
            if skip is not None and isinstance(exc, skip):
                continue
            report(exc)
            code = 1
    return code
