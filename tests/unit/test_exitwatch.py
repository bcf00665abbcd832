"""core/exitwatch.py: reading the kernel's process events connector datagrams."""

from __future__ import annotations

import struct

from mydocker.core import exitwatch


def _datagram(what: int, pid: int, tgid: int, status: int) -> bytes:
    event = struct.pack("=IIQ", what, 0, 123) + struct.pack("=IIII", pid, tgid, status, 17)
    cn = struct.pack("=IIIIHH", exitwatch.CN_IDX_PROC, exitwatch.CN_VAL_PROC, 1, 0, len(event), 0) + event
    return struct.pack("=IHHII", 16 + len(cn), 3, 0, 0, 0) + cn


def test_an_exit_event_gives_pid_tgid_and_the_wait_status() -> None:
    assert exitwatch.exit_of(_datagram(exitwatch.PROC_EVENT_EXIT, 41, 40, 7 << 8)) == (41, 40, 7 << 8)
    assert exitwatch.exit_of(_datagram(0x00000001, 41, 40, 0)) is None  # a fork, not an exit
    assert exitwatch.exit_of(b"\0" * 20) is None


def test_only_kernels_from_6_6_filter_events_for_us() -> None:
    assert exitwatch._filters_by_event("6.18.44-fc-v657")  # noqa: SLF001
    assert exitwatch._filters_by_event("6.6.0")  # noqa: SLF001
    assert not exitwatch._filters_by_event("6.5.13")  # noqa: SLF001
    assert not exitwatch._filters_by_event("5.15.0-91-generic")  # noqa: SLF001
    assert not exitwatch._filters_by_event("weird")  # noqa: SLF001
