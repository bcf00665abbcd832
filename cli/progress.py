"""docker's pull/push progress: one line per layer.

On a terminal each layer's line is rewritten in place (cursor up, clear line),
with a bar while bytes move; otherwise only status changes are printed, one
plain line each, as docker does when its output is piped."""

from __future__ import annotations

import threading
from typing import TextIO

BAR_WIDTH = 50
_MOVING = ("Downloading", "Extracting", "Pushing")


def human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000:
            return f"{size:.4g}{unit}"
        size /= 1000
    return f"{size:.4g}PB"


def bar(current: int, total: int) -> str:
    if total <= 0:
        return f"{human(current)}"
    filled = min(BAR_WIDTH, BAR_WIDTH * current // total)
    arrow = ">" if filled < BAR_WIDTH else ""
    inner = ("=" * filled + arrow).ljust(BAR_WIDTH)[:BAR_WIDTH]
    return f"[{inner}]  {human(current)}/{human(total)}"


class Printer:
    def __init__(self, out: TextIO, tty: bool) -> None:
        self.out = out
        self.tty = tty
        self.ids: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, short: str, status: str, current: int | None, total: int | None) -> None:
        with self.lock:
            if not self.tty:
                if status not in _MOVING:
                    self.out.write(f"{short}: {status}\n")
                    self.out.flush()
                return
            text = f"{short}: {status}"
            if status in _MOVING and current is not None and total is not None:
                text += f" {bar(current, total)}"
            if short not in self.ids:
                self.ids.append(short)
                self.out.write(text + "\n")
            else:
                up = len(self.ids) - self.ids.index(short)
                self.out.write(f"\x1b[{up}A\r\x1b[2K{text}\r\x1b[{up}B")
            self.out.flush()
