"""The detach key sequence: docker's spelling, and the matcher that holds a
partial match back until the next key decides."""

from __future__ import annotations

import pytest
from mydocker.cli.errors import CliError
from mydocker.cli.terminal import DEFAULT_DETACH_KEYS, DetachKeys, parse_detach_keys


def test_dockers_spellings() -> None:
    assert parse_detach_keys(DEFAULT_DETACH_KEYS) == b"\x10\x11"
    assert parse_detach_keys("ctrl-x,y") == b"\x18y"
    assert parse_detach_keys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_") == bytes([0, 27, 28, 29, 30, 31])
    for bad in ("ctrl-", "bogus", "ctrl-1", "a,,b"):
        with pytest.raises(CliError) as caught:
            parse_detach_keys(bad)
        assert str(caught.value) == f"Invalid detach keys ({bad}) provided" and caught.value.exit_code == 1


def test_the_sequence_never_reaches_the_container_and_nothing_else_is_lost() -> None:
    keys = DetachKeys(b"\x10\x11")
    assert keys.feed(b"ab\x10") == (b"ab", False)  # held: it may be the start
    assert keys.feed(b"\x10x") == (b"\x10\x10x", False)  # it was not: both go on, in order
    assert keys.feed(b"\x10") == (b"", False)
    assert keys.feed(b"\x11rest") == (b"", True)
    assert DetachKeys(b"\x10\x11").feed(b"\x10\x11") == (b"", True)
    assert DetachKeys(b"\x10\x11").feed(b"x\x10\x10\x11") == (b"x\x10", True)
