"""The pure parts of core.security: capability arithmetic and --ulimit parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mydocker.core.security import (
    CAPABILITIES,
    DEFAULT_CAPABILITIES,
    SecurityError,
    capability_set,
    normalize_capability,
    parse_ulimit,
)


def test_default_set_is_dockers_fourteen():
    assert capability_set([], [], privileged=False) == sorted(DEFAULT_CAPABILITIES)
    assert len(DEFAULT_CAPABILITIES) == 14
    assert "SYS_ADMIN" not in DEFAULT_CAPABILITIES and "NET_ADMIN" not in DEFAULT_CAPABILITIES


def test_add_and_drop_with_or_without_prefix():
    caps = capability_set(["cap_net_admin", "SYS_TIME"], ["MKNOD", "CAP_NET_RAW"], privileged=False)
    assert "NET_ADMIN" in caps and "SYS_TIME" in caps
    assert "MKNOD" not in caps and "NET_RAW" not in caps


def test_drop_all_then_add_one():
    assert capability_set(["CHOWN"], ["ALL"], privileged=False) == ["CHOWN"]


def test_add_all_and_privileged_give_every_capability():
    assert capability_set(["ALL"], [], privileged=False) == sorted(CAPABILITIES)
    assert capability_set([], ["ALL"], privileged=True) == sorted(CAPABILITIES)


def test_unknown_capability_is_refused():
    with pytest.raises(SecurityError, match="unknown capability"):
        capability_set(["CAP_WINGS"], [], privileged=False)


@pytest.mark.parametrize("text,expected", [
    ("nofile=1024", ("nofile", [1024, 1024])),
    ("nofile=512:1024", ("nofile", [512, 1024])),
    ("core=-1", ("core", [-1, -1])),
    ("nproc=10:-1", ("nproc", [10, -1])),
])
def test_ulimits(text, expected):
    assert parse_ulimit(text) == expected


@pytest.mark.parametrize("text", ["nofile", "files=1", "nofile=a", "nofile=2:1", "nofile=1:2:3", "nofile=-5",
                                  "nofile=-1:10"])
def test_bad_ulimits(text):
    with pytest.raises(SecurityError):
        parse_ulimit(text)


@given(st.text(max_size=40))
def test_parsers_never_raise_anything_else(text):
    for parse in (parse_ulimit, normalize_capability):
        try:
            parse(text)
        except SecurityError as exc:
            assert str(exc)
