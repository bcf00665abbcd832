"""docker's pull/push progress: one line per layer.

On a terminal each layer's line is rewritten in place (cursor up, clear line),
with a bar while bytes move; otherwise only status changes are printed, one
plain line each, as docker does when its output is piped."""

from __future__ import annotations

import io
import threading
import time
from typing import Any, BinaryIO, TextIO

BAR_WIDTH = 50
_MOVING = ("Downloading", "Extracting", "Pushing", "Loading layer")


def human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000:
            return f"{size:.4g}{unit}"
        size /= 1000
    return f"{size:.4g}PB"


def bar(current: int, total: int) -> str:
    """docker's bar: 50 wide, its arrow always drawn (`[=====>    ]`, `[=...=>]` when full)."""
    if total <= 0:
        return f"{human(current)}"
    filled = max(0, min(BAR_WIDTH, BAR_WIDTH * current // total))
    return f"[{'=' * filled}>{' ' * (BAR_WIDTH - filled)}]  {human(current)}/{human(total)}"


class Printer:
    def __init__(self, out: TextIO, tty: bool) -> None:
        self.out = out
        self.tty = tty
        self.ids: list[str] = []
        self.lock = threading.Lock()
        self.shown: dict[str, tuple[str, float]] = {}  # per id: its line and when it was drawn

    def __call__(self, short: str, status: str, current: int | None, total: int | None) -> None:
        with self.lock:
            if not self.tty:
                if status not in _MOVING:
                    self.out.write(f"{short}: {status}\n")
                    self.out.flush()
                return
            text = f"{short}: {status}"
            now = time.monotonic()
            if status in _MOVING and current is not None and total is not None:
                text += f" {bar(current, total)}"
                last = self.shown.get(short)
                # a bar moves on every read: drawn at most 10 times a second, and when full
                if last and (last[0] == text or now - last[1] < 0.1 and current < total):
                    return
            self.shown[short] = (text, now)
            if short not in self.ids:
                self.ids.append(short)
                self.out.write(text + "\n")
            else:
                up = len(self.ids) - self.ids.index(short)
                self.out.write(f"\x1b[{up}A\r\x1b[2K{text}\r\x1b[{up}B")
            self.out.flush()


class Meter:
    """A bar on a terminal's stderr while save/import move bytes. docker shows
    nothing there; the line is erased when done, so what stays on the screen is
    docker's output. Off the terminal (or with nothing to say) it does nothing."""

    def __init__(self, label: str, total: int, out: TextIO | None = None) -> None:
        import sys

        self.out = out or sys.stderr
        self.on = self.out.isatty()
        self.label, self.total, self.done = label, total, 0
        self.drawn = 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.on and now - self.drawn >= 0.1:
            self.drawn = now
            done = min(self.done, self.total) if self.total > 0 else self.done  # no total: bytes alone
            self.out.write(f"\r\x1b[2K{self.label} {bar(done, self.total)}")
            self.out.flush()

    def close(self) -> None:
        if self.on and self.drawn:
            self.out.write("\r\x1b[2K")
            self.out.flush()


class MeteredWriter:
    def __init__(self, f: BinaryIO, meter: Meter) -> None:
        self.f, self.meter = f, meter

    def write(self, data: bytes) -> int:
        written = self.f.write(data)
        self.meter.add(len(data))
        return written

    def flush(self) -> None:
        self.f.flush()


class MeteredReader(io.RawIOBase):
    def __init__(self, f: BinaryIO, meter: Meter) -> None:
        super().__init__()
        self.f, self.meter = f, meter

    def readinto(self, buffer: Any) -> int:
        data = self.f.read(len(buffer))
        buffer[:len(data)] = data
        self.meter.add(len(data))
        return len(data)

    def readable(self) -> bool:
        return True
