"""Property tests over every validator of user input: names, paths, sizes,
CIDRs, ports, volumes, devices, times. For any text: a value or a clear,
one-line rejection — never a crash, never a traceback, never a path out."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st
from mydocker.cli.commands.events import parse_filter, parse_when
from mydocker.cli.errors import one_line
from mydocker.cli.parsing import UsageError
from mydocker.cli.ports import parse_publish
from mydocker.statemachine import ipam, naming
from mydocker.statemachine.errors import UserError
from mydocker.statemachine.volumes import parse as parse_volume

hostile = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="./:-_aZ09 \n\x00", max_size=40),
    st.sampled_from(["..", "../../etc", "/", "a/../../b", "a" * 300, "-x", "\x00", "ü", "1.2.3.4/40",
                     "80:80/sctp", "0:0", "65536:1", "::", "/dev/../etc/shadow"]),
)


def rejects_cleanly(fn, text):  # type: ignore[no-untyped-def]
    """The value, or None after checking the rejection reads as one line."""
    try:
        return fn(text)
    except (UsageError, UserError, ValueError) as exc:
        shown = one_line(exc)
        assert shown.strip() and shown.isprintable(), repr(shown)
        return None


@settings(max_examples=300)
@given(hostile)
def test_container_names_never_become_paths(text):
    name = rejects_cleanly(naming.check_name, text)
    if name is not None:
        assert "/" not in name and name not in (".", "..") and "\x00" not in name
        root = "/var/lib/mydocker/containers"
        assert os.path.normpath(os.path.join(root, name)).startswith(root + "/")


@settings(max_examples=300)
@given(hostile)
def test_publish_specs(text):
    bindings = rejects_cleanly(parse_publish, text)
    for b in bindings or []:
        assert 0 <= b["host_port"] <= 65535 and 1 <= b["container_port"] <= 65535, b  # 0: pick a free port


@settings(max_examples=300)
@given(hostile)
def test_subnets(text):
    net = rejects_cleanly(ipam.parse_subnet, text)
    if net is not None:
        assert net.version == 4


@settings(max_examples=300)
@given(hostile)
def test_volume_specs(text):
    request = rejects_cleanly(parse_volume, text)
    if request is not None:
        assert request.destination.startswith("/") and request.destination != "/"


@settings(max_examples=200)
@given(hostile)
def test_event_times_and_filters(text):
    rejects_cleanly(parse_when, text)
    rejects_cleanly(parse_filter, text)


def test_one_line_escapes_what_would_break_the_line():
    assert one_line("bad name (\n\x1b[31m)") == "bad name (\\n\\x1b[31m)"
