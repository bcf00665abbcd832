"""A container cannot get out: capabilities, seccomp, masked paths, devices,
users, limits and the zombie reaper, checked from inside a real container."""

from __future__ import annotations

import os
import time

NONE = ("--network", "none")


def inside(md, script: str, *flags: str) -> str:
    result = md("run", "--rm", *NONE, *flags, "busybox", "sh", "-c", script)
    return result.out + result.err


def test_default_container_cannot_reach_the_host_kernel(md):
    out = inside(md, """
        mkdir -p /mnt; mount -t tmpfs none /mnt; echo mount=$?
        umount /proc; echo umount=$?
        reboot -f; echo reboot=$?
        head -c 8192 /dev/zero > /tmp/m.ko; insmod /tmp/m.ko; echo insmod=$?
        unshare -U true; echo unshare=$?
        echo 1 > /proc/sys/vm/drop_caches; echo procsys=$?
        echo x > /sys/kernel/uevent_helper; echo sys=$?
        echo kcore=$(cat /proc/kcore 2>/dev/null | wc -c)
        mknod /tmp/sda b 8 0; echo mknod=$?
        mknod /tmp/mem c 1 1; echo mknodmem=$?
        grep -E 'CapEff|NoNewPrivs|Seccomp:' /proc/self/status
    """)
    for op in ("mount", "umount", "reboot", "insmod", "unshare", "procsys", "sys", "mknod", "mknodmem"):
        assert f"{op}=0" not in out, f"{op} succeeded inside a default container:\n{out}"
        assert f"{op}=1" in out or f"{op}=2" in out, out
    assert "kcore=0" in out
    assert "Read-only file system" in out
    assert "CapEff:\t00000000a80425fb" in out, "docker's default capability set"
    assert "NoNewPrivs:\t1" in out and "Seccomp:\t2" in out


def test_host_block_devices_cannot_be_opened(md):
    # even with the capability to make the node, the devices cgroup refuses it
    out = inside(md, "mknod /tmp/sda b 8 0; echo made=$?; head -c1 /tmp/sda; echo read=$?", "--cap-add", "MKNOD")
    assert "read=0" not in out
    assert "Operation not permitted" in out


def test_privileged_can_mount(md):
    out = inside(md, "mkdir -p /mnt && mount -t tmpfs none /mnt && echo mounted; "
                     "grep -E 'NoNewPrivs|Seccomp:' /proc/self/status", "--privileged")
    assert "mounted" in out
    assert "NoNewPrivs:\t0" in out and "Seccomp:\t0" in out


def test_cap_add_drop_and_seccomp_unconfined(md):
    out = inside(md, "grep -E 'CapEff|Seccomp:' /proc/self/status", "--cap-drop", "ALL", "--cap-add", "chown",
                 "--security-opt", "seccomp=unconfined")
    assert "CapEff:\t0000000000000001" in out and "Seccomp:\t0" in out
    out = inside(md, "grep CapEff /proc/self/status", "--cap-add", "SYS_ADMIN")
    assert int(out.split()[-1], 16) & (1 << 21)


def test_host_processes_are_invisible_and_unsignalable(md):
    host_pid = os.getpid()
    out = inside(md, f"ls /proc | grep -c '^[0-9]'; kill -0 {host_pid}; echo kill=$?")
    assert int(out.split()[0]) <= 3
    assert "kill=1" in out


def test_read_only_rootfs_keeps_tmp_writable(md):
    out = inside(md, "touch /x; echo root=$?; touch /tmp/x && echo tmp=ok; touch /run/x && echo run=ok",
                 "--read-only")
    assert "root=1" in out and "tmp=ok" in out and "run=ok" in out


def test_user_ulimit_and_device(md):
    out = inside(md, "id -u; id -g; ulimit -n; grep CapEff /proc/self/status; head -c 3 /dev/myzero | wc -c",
                 "-u", "65534:65534", "--ulimit", "nofile=100:200", "--device", "/dev/zero:/dev/myzero")
    lines = out.split()
    assert lines[:3] == ["65534", "65534", "100"]
    assert "0000000000000000" in out, "a non-root user holds no capabilities"
    assert lines[-1] == "3"
    assert md("run", "--rm", *NONE, "-u", "nosuchuser", "busybox", "true").code == 126


def test_exec_gets_the_same_limits(md):
    md.ok("run", "-d", *NONE, "--name", "hx", "busybox", "sleep", "60")
    try:
        out = md.ok("exec", "hx", "grep", "-E", "CapEff|Seccomp:|NoNewPrivs", "/proc/self/status")
        assert "CapEff:\t00000000a80425fb" in out and "Seccomp:\t2" in out and "NoNewPrivs:\t1" in out
        assert md("exec", "hx", "sh", "-c", "mkdir -p /mnt; mount -t tmpfs none /mnt").code != 0
    finally:
        md.ok("rm", "-f", "hx")


def _zombies_of(pid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == pid:
                count += 1
    return count


def test_init_reaps_zombies(md):
    leak = "for i in 1 2 3 4 5; do (sleep 0.1 &); done; exec sleep 30"
    counts = {}
    for flag in ("", "--init"):
        name = f"z{len(counts)}"
        md.ok("run", "-d", *NONE, "--name", name, *([flag] if flag else []), "busybox", "sh", "-c", leak)
        time.sleep(1.0)
        counts[flag] = _zombies_of(md.inspect(name)["State"]["Pid"])
        md.ok("rm", "-f", name)
    assert counts[""] == 5, "without an init the orphans stay zombies (the test would prove nothing)"
    assert counts["--init"] == 0
    assert md("run", "--rm", *NONE, "--init", "busybox", "sh", "-c", "exit 7").code == 7


def test_bad_hardening_flags_change_nothing(md):
    for flags in (["--cap-add", "WINGS"], ["--security-opt", "apparmor=x"], ["--ulimit", "nofile=a"],
                  ["--device", "/etc/passwd"], ["--device", "/dev/zero:/tmp/zero"], ["-u", "a b"]):
        r = md("run", "--rm", *NONE, *flags, "busybox", "true")
        assert r.code == 125 and r.err.startswith("Error:") and len(r.err.splitlines()) == 1, (flags, r.err)
    assert md.ok("ps", "-aq") == ""
