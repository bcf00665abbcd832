"""A blob's bytes all reach the disk even when os.write takes fewer than asked."""

from __future__ import annotations

import os

from mydocker.core import registry_client


def test_short_writes_are_continued(tmp_path, monkeypatch) -> None:
    real_write = os.write
    monkeypatch.setattr(registry_client.os, "write", lambda fd, data: real_write(fd, bytes(data[:3])))
    path = tmp_path / "blob"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        registry_client._write_all(fd, b"0123456789abcdef")
    finally:
        os.close(fd)
    assert path.read_bytes() == b"0123456789abcdef"
