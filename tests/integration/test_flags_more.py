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
    out = mdm.ok("run", "--rm", "-h", "web", "--domainname", "example.org", "busybox", "sh", "-c",
                 "hostname -f; grep -c '\tweb.example.org web ' /etc/hosts")
    assert out == "web.example.org\n1\n"  # docker's hosts line: the FQDN first
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


def _memory_cgroup(mdm, name: str) -> str:
    paths = mdm.inspect(name)["Mydocker"]["Cgroups"]
    return paths.get("memory") or paths["unified"]


def test_oom_and_memory_knobs(mdm):
    mdm.ok("run", "-d", "--name", "mem", "--network", "none", "-m", "64m", "--oom-score-adj", "500",
           "--memory-reservation", "16m", "--memory-swappiness", "10", "--oom-kill-disable", "--cpuset-mems", "0",
           "busybox", "sleep", "60")
    assert mdm.ok("exec", "mem", "cat", "/proc/1/oom_score_adj") == "500\n"
    v1 = "memory" in mdm.inspect("mem")["Mydocker"]["Cgroups"]
    shown = mdm.ok("inspect", "-f", "{{.HostConfig.OomScoreAdj}} {{.HostConfig.MemoryReservation}} "
                   "{{json .HostConfig.MemorySwappiness}} {{.HostConfig.OomKillDisable}} "
                   "{{json .HostConfig.CpusetMems}}", "mem")
    assert shown == ('500 16777216 10 true "0"\n' if v1 else '500 16777216 null false "0"\n')  # v2: discarded
    cg = _memory_cgroup(mdm, "mem")
    if v1:
        def read(name: str) -> str:
            with open(f"{cg}/{name}") as f:
                return f.read()
        assert read("memory.soft_limit_in_bytes").strip() == "16777216"
        assert read("memory.swappiness").strip() == "10"
        assert "oom_kill_disable 1" in read("memory.oom_control")
    else:
        with open(f"{cg}/memory.low") as f:
            assert f.read().strip() == "16777216"
    mdm.ok("rm", "-f", "mem")
    mdm.ok("create", "--name", "plainmem", "--network", "none", "busybox", "true")
    info = mdm.inspect("plainmem")["HostConfig"]
    assert [info[k] for k in ("OomScoreAdj", "MemoryReservation", "MemorySwappiness", "OomKillDisable",
                              "CpusetMems")] == [0, 0, None, False, ""]
    mdm.ok("rm", "plainmem")


def test_oom_kill_disable_without_memory_warns_as_docker(mdm):
    r = mdm("create", "--name", "warned", "--network", "none", "--oom-kill-disable", "busybox", "true")
    assert r.code == 0 and r.err.startswith("WARNING: OOM killer is disabled for the container, but no memory limit")
    mdm.ok("rm", "warned")


@pytest.mark.parametrize("flags, words", [
    (["--oom-score-adj", "1001"], "Invalid value 1001, range for oom score adj is [-1000, 1000]"),
    (["--oom-score-adj", "x"], 'invalid argument "x" for "--oom-score-adj" flag: strconv.ParseInt: parsing "x"'),
    (["--memory-reservation", "x"], 'invalid argument "x" for "--memory-reservation" flag: invalid size: \'x\''),
    (["--memory-reservation", "1k"], "Minimum memory reservation allowed is 6MB"),
    (["-m", "32m", "--memory-reservation", "64m"], "Minimum memory limit can not be less than memory reservation"),
    (["--memory-swappiness", "101"], "invalid value: 101. Valid memory swappiness range is 0-100"),
    (["--memory-swappiness", "-2"], "invalid value: -2. Valid memory swappiness range is 0-100"),
    (["--cpuset-mems", "99"], "Requested memory nodes are not available - requested 99, available: "),
    (["--cpuset-mems", "x"], "Invalid value x for cpuset mems: invalid format: x"),
])
def test_bad_memory_flags_are_refused(mdm, flags, words):
    assert words in _refused(mdm, *flags)


def _ns(pid: str, kind: str) -> str:
    import os

    return os.readlink(f"/proc/{pid}/ns/{kind}")


def test_group_add_ipc_uts_pid_modes(mdm):
    import socket

    out = mdm.ok("run", "--rm", "--network", "none", "--group-add", "10", "--group-add", "nogroup",
                 "busybox", "id", "-G")
    assert out.split() == ["0", "10", "65534"]
    mdm.ok("run", "-d", "--name", "shared", "--network", "none", "--ipc", "host", "--uts", "host", "--pid", "host",
           "busybox", "sleep", "60")
    pid = str(mdm.inspect("shared")["State"]["Pid"])
    for kind in ("ipc", "uts", "pid"):
        assert _ns(pid, kind) == _ns("self", kind), kind
    assert _ns(pid, "mnt") != _ns("self", "mnt")
    assert mdm.ok("exec", "shared", "hostname") == socket.gethostname() + "\n"
    assert mdm.ok("exec", "shared", "sh", "-c", "test -d /proc/1 && cat /proc/1/comm") != "sleep\n"
    shown = mdm.ok("inspect", "-f", "{{.HostConfig.IpcMode}} {{.HostConfig.UTSMode}} {{.HostConfig.PidMode}} "
                   "{{json .HostConfig.GroupAdd}} {{.Config.Hostname}}", "shared")
    assert shown == f"host host host null {socket.gethostname()}\n"
    mdm.ok("rm", "-f", "shared")
    mdm.ok("run", "-d", "--name", "own", "--network", "none", "--ipc", "shareable", "--group-add", "10",
           "busybox", "sleep", "60")
    pid = str(mdm.inspect("own")["State"]["Pid"])
    for kind in ("ipc", "uts", "pid"):
        assert _ns(pid, kind) != _ns("self", kind), kind
    assert mdm.ok("exec", "own", "id", "-G") == "0 10\n"  # exec joins the added groups too, as docker's
    shown = mdm.ok("inspect", "-f", "{{.HostConfig.IpcMode}} {{json .HostConfig.UTSMode}} {{json .HostConfig.PidMode}} "
                   "{{json .HostConfig.GroupAdd}}", "own")
    assert shown == 'shareable "" "" ["10"]\n'
    mdm.ok("rm", "-f", "own")


def test_unknown_group_fails_the_start(mdm):
    r = mdm("run", "--rm", "--network", "none", "--group-add", "nosuchgroup", "busybox", "true")
    assert r.code == 125 and "Unable to find group nosuchgroup: no matching entries in group file" in r.err, r


@pytest.mark.parametrize("flags, words", [
    (["--ipc", "bogus"], "Invalid IPC mode: bogus"),
    (["--uts", "bogus"], "--uts: invalid UTS mode"),
    (["--pid", "bogus"], "--pid: invalid PID mode"),
    (["--uts", "host", "-h", "foo"], "conflicting options: hostname and the UTS mode"),
    (["--ipc", "host", "--sysctl", "kernel.shmmax=1"], 'sysctl "kernel.shmmax" not allowed in host IPC namespace'),
])
def test_bad_namespace_modes_are_refused(mdm, flags, words):
    assert words in _refused(mdm, *flags)


def _cap_eff(text: str) -> str:
    return next(line.split()[1] for line in text.splitlines() if line.startswith("CapEff:"))


def test_exec_detach_and_privileged(mdm, tmp_path):
    import subprocess
    import time

    mdm.ok("run", "-d", "--name", "ex", "--network", "none", "busybox", "sleep", "60")
    mdm.ok("exec", "ex", "mkfifo", "/tmp/fifo")
    # returns while the command still waits on the fifo, and holds none of our pipes
    started = subprocess.run([*mdm_command(mdm), "exec", "-d", "ex", "sh", "-c",
                              "read x < /tmp/fifo; echo $x > /tmp/mark"], capture_output=True, text=True, timeout=30)
    assert (started.returncode, started.stdout, started.stderr) == (0, "", "")
    assert mdm("exec", "ex", "cat", "/tmp/mark").code == 1
    mdm.ok("exec", "ex", "sh", "-c", "echo done > /tmp/fifo")
    for _ in range(100):
        if mdm("exec", "ex", "cat", "/tmp/mark").out == "done\n":
            break
        time.sleep(0.1)
    assert mdm.ok("exec", "ex", "cat", "/tmp/mark") == "done\n"
    history = mdm.ok("container", "history", "ex")
    assert history.count("exec_die") >= 1
    r = mdm("exec", "-d", "ex", "/no/such/command")
    assert r.code in (126, 127) and r.err.startswith("Error: OCI runtime exec failed") and r.out == "", r
    plain = _cap_eff(mdm.ok("exec", "ex", "cat", "/proc/self/status"))
    extended = _cap_eff(mdm.ok("exec", "--privileged", "ex", "cat", "/proc/self/status"))
    everything = _cap_eff(mdm.ok("run", "--rm", "--network", "none", "--privileged", "busybox",
                                 "cat", "/proc/self/status"))
    assert plain != extended == everything
    mdm.ok("rm", "-f", "ex")


def mdm_command(mdm) -> list[str]:
    from tests.integration.conftest import MYDOCKER

    return [MYDOCKER, "--root", str(mdm.root)]
