"""More of docker's run/exec flags (issue 10's remainder): kernel parameters,
namespaces, memory knobs, exec -d. Expected values and error words are docker
20.10's, taken side by side on this host. One state root for the module: each
test removes its own containers."""

from __future__ import annotations

import pytest

from tests.integration.conftest import _checked_runtime


@pytest.fixture(scope="module")
def mdm(tmp_path_factory: pytest.TempPathFactory):
    yield from _checked_runtime(tmp_path_factory.mktemp("flags-more"))


def _refused(mdm, *args: str) -> str:
    r = mdm("create", "--network", "none", *args, "busybox", "true")
    assert r.code == 125 and r.out == "", (args, r)
    assert r.err.count("\n") == 1, r.err
    assert mdm.ok("ps", "-aq") == ""  # nothing created
    return r.err.strip()


def test_sysctl_shm_size_domainname(mdm):
    out = mdm.ok("run", "--rm", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=1000000",
                 "--shm-size", "8m", "--domainname", "example.org", "busybox", "sh", "-c",
                 "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax; "
                 "grep ' /dev/shm ' /proc/mounts | cut -d' ' -f4; cat /proc/sys/kernel/domainname")
    assert out.splitlines() == ["1", "1000000", "rw,nosuid,nodev,noexec,relatime,size=8192k", "example.org"]
    # the host's own values are untouched (each is namespaced)
    with open("/proc/sys/kernel/shmmax") as f:
        assert f.read().strip() != "1000000"
    mdm.ok("create", "--name", "sx", "--network", "none", "--sysctl", "net.ipv4.ip_forward=1",
           "--sysctl", "kernel.shmmax=1000000", "--shm-size", "8m", "--domainname", "example.org", "busybox", "true")
    shown = mdm.ok("inspect", "-f", "{{json .HostConfig.Sysctls}} {{.HostConfig.ShmSize}} {{json .Config.Domainname}}",
                   "sx")
    assert shown == '{"kernel.shmmax":"1000000","net.ipv4.ip_forward":"1"} 8388608 "example.org"\n'
    mdm.ok("rm", "sx")
    mdm.ok("create", "--name", "plain", "--network", "none", "busybox", "true")
    assert mdm.ok("inspect", "-f", "{{.HostConfig.ShmSize}} {{json .Config.Domainname}}", "plain") == '67108864 ""\n'
    assert "Sysctls" not in mdm.inspect("plain")["HostConfig"]  # omitempty, as docker's JSON
    assert mdm.ok("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                  "grep ' /dev/shm ' /proc/mounts | cut -d' ' -f4") == "rw,nosuid,nodev,noexec,relatime,size=65536k\n"
    mdm.ok("rm", "plain")


@pytest.mark.parametrize("flags, words", [
    (["--sysctl", "foo=bar"], '"foo=bar" for "--sysctl" flag: sysctl \'foo=bar\' is not allowed'),
    (["--sysctl", "net.ipv4.ip_forward"], "sysctl 'net.ipv4.ip_forward' is not allowed"),
    (["--sysctl", "kernel.hostname=x"], "sysctl 'kernel.hostname=x' is not allowed"),
    (["--sysctl", "net.ipv4/../../x=1"], "is not allowed"),
    (["--shm-size", "abc"], 'invalid argument "abc" for "--shm-size" flag: invalid size: \'abc\''),
    (["--shm-size", "-1"], "invalid size: '-1'"),
])
def test_bad_sysctl_and_shm_size_are_refused(mdm, flags, words):
    assert words in _refused(mdm, *flags)


def test_net_sysctl_refused_with_host_network(mdm):
    r = mdm("create", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "true")
    assert r.code == 125 and 'sysctl "net.ipv4.ip_forward" not allowed in host network namespace' in r.err
    assert mdm.ok("ps", "-aq") == ""
