"""core.network opens a netns's netlink socket itself, with no helper process.

pyroute2's IPRoute(netns=...) forks a child (which runs `ldconfig -p`) to make
that socket: ~15-20 ms on run -d's critical path."""

from __future__ import annotations

import os
import subprocess

import pytest


@pytest.fixture(scope="module")
def lone_netns():
    """A process alone in a new, empty network namespace (no host object named)."""
    proc = subprocess.Popen(["unshare", "--net", "sleep", "300"])
    try:
        path = f"/proc/{proc.pid}/ns/net"
        while os.readlink(path) == os.readlink("/proc/self/ns/net"):
            os.sched_yield()  # unshare has not run yet
        yield path
    finally:
        proc.kill()
        proc.wait()


def test_netns_socket_is_made_in_that_namespace_without_a_fork(lone_netns, monkeypatch):
    from mydocker.core import network

    def no_fork() -> int:
        raise AssertionError("forked a helper to open the netns socket")

    monkeypatch.setattr(os, "fork", no_fork)
    ours = os.stat("/proc/thread-self/ns/net").st_ino
    with network._iproute(lone_netns) as ns:
        names = [link.get_attr("IFLA_IFNAME") for link in ns.get_links()]
    assert names == ["lo"], "the socket belongs to the container's namespace, not the host's"
    assert os.stat("/proc/thread-self/ns/net").st_ino == ours, "this thread came back home"


def test_a_vanished_namespace_is_a_network_error():
    from mydocker.core import network

    with pytest.raises(network.NetworkError, match="cannot open network namespace"):
        network._iproute("/proc/0/ns/net")


def test_a_path_that_is_no_network_namespace_cannot_be_entered_and_this_thread_stays_home():
    from mydocker.core import network

    ours = os.stat("/proc/thread-self/ns/net").st_ino
    with pytest.raises(network.NetworkError, match="cannot enter network namespace /proc/self/ns/uts"):
        network._iproute("/proc/self/ns/uts")
    assert os.stat("/proc/thread-self/ns/net").st_ino == ours
