"""The container log: one JSON object per line, docker's json-file shape
{"log": "...", "stream": "stdout"|"stderr", "time": RFC 3339}, so stdout and
stderr stay apart and every line keeps its time.

Rotation as docker's json-file driver (--log-opt max-size, max-file): once the
file would pass max_size it becomes container.log.1 (the older ones move up,
the oldest beyond max_file goes) and a new one begins; readers read the rotated
files oldest first (rotated_paths). The `none` driver keeps nothing.

Stdlib only: the waiter imports this in its bare interpreter."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator

from mydocker.core import timestamps


def _now() -> str:
    return timestamps.now()


def rotated_paths(path: str) -> list[str]:
    """The log's files, oldest first: container.log.N ... container.log.1, container.log."""
    older = []
    n = 1
    while os.path.exists(f"{path}.{n}"):
        older.append(f"{path}.{n}")
        n += 1
    return [*reversed(older), path]


class LogWriter:
    def __init__(self, path: str | os.PathLike[str], driver: str = "json-file", max_size: int = 0,
                 max_file: int = 1) -> None:
        self._path = os.fspath(path)
        self._keep = driver != "none"
        self._max_size = max_size  # bytes; 0: never rotate
        self._max_file = max(1, max_file)
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if self._keep else -1
        self._size = os.fstat(self._fd).st_size if self._keep else 0
        self._partial: dict[str, str] = {}

    def write(self, stream: str, data: bytes) -> None:
        text = self._partial.pop(stream, "") + data.decode("utf-8", "replace")
        lines = text.split("\n")
        self._partial[stream] = lines.pop()
        if lines:
            stamp = _now()
            self._emit([_record(line + "\n", stream, stamp) for line in lines])

    def close(self) -> None:
        stamp = _now()
        rest = [_record(text, stream, stamp) for stream, text in self._partial.items() if text]
        if rest:
            self._emit(rest)
        self._partial.clear()
        if self._keep:
            os.close(self._fd)

    def _rotate(self) -> None:
        """docker's: .N-1 -> .N ... log -> .1, dropping what falls past max_file."""
        os.close(self._fd)
        if self._max_file > 1:
            for n in range(self._max_file - 1, 1, -1):
                if os.path.exists(f"{self._path}.{n - 1}"):
                    os.replace(f"{self._path}.{n - 1}", f"{self._path}.{n}")
            os.replace(self._path, f"{self._path}.1")
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        else:  # max-file 1: the one file starts over
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        self._size = 0

    def _emit(self, records: list[str]) -> None:
        if not self._keep:
            return
        try:
            if not self._max_size:
                self._write("".join(records).encode())
                return
            for record in records:  # docker's json-file: rotate before a message once the file is full
                if self._size >= self._max_size:
                    self._rotate()
                self._write(record.encode())
        except OSError as exc:
            # A full disk drops output, as docker's json-file does; it must not
            # kill the monitor, whose die record is what the log needs most.
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise

    def _write(self, data: bytes) -> None:
        self._size += len(data)
        while data:
            data = data[os.write(self._fd, data):]


def _record(log: str, stream: str, stamp: str) -> str:
    return json.dumps({"log": log, "stream": stream, "time": stamp}) + "\n"


def parse_lines(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    for line in lines:
        if line.endswith("\n"):
            try:
                yield json.loads(line)
            except ValueError:
                continue  # a torn line from a crash mid-write
