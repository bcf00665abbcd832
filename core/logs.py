"""The container log: one JSON object per line, docker's json-file shape
{"log": "...", "stream": "stdout"|"stderr", "time": RFC 3339}, so stdout and
stderr stay apart and every line keeps its time."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator

from mydocker.core import timestamps


def _now() -> str:
    return timestamps.now()


class LogWriter:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._partial: dict[str, str] = {}

    def write(self, stream: str, data: bytes) -> None:
        text = self._partial.pop(stream, "") + data.decode("utf-8", "replace")
        lines = text.split("\n")
        self._partial[stream] = lines.pop()
        if lines:
            stamp = _now()
            self._emit("".join(_record(line + "\n", stream, stamp) for line in lines))

    def close(self) -> None:
        stamp = _now()
        rest = "".join(_record(text, stream, stamp) for stream, text in self._partial.items() if text)
        if rest:
            self._emit(rest)
        self._partial.clear()
        os.close(self._fd)

    def _emit(self, text: str) -> None:
        data = text.encode()
        try:
            while data:
                data = data[os.write(self._fd, data):]
        except OSError as exc:
            # A full disk drops output, as docker's json-file does; it must not
            # kill the monitor, whose die record is what the log needs most.
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise


def _record(log: str, stream: str, stamp: str) -> str:
    return json.dumps({"log": log, "stream": stream, "time": stamp}) + "\n"


def parse_lines(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    for line in lines:
        if line.endswith("\n"):
            try:
                yield json.loads(line)
            except ValueError:
                continue  # a torn line from a crash mid-write
