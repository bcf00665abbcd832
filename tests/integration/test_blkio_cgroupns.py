"""Block I/O and device cgroup flags, and the container's own /sys/fs/cgroup
(docker 20.10's behaviour on this host's cgroup layout)."""

from __future__ import annotations

import os
import stat

import pytest
from mydocker.core.cgroups import detect_mode


def _block_device() -> str:
    for name in sorted(os.listdir("/sys/block")):
        path = f"/dev/{name}"
        if os.path.exists(path) and stat.S_ISBLK(os.stat(path).st_mode):
            return path
    pytest.skip("no block device node on this host")


def test_blkio_and_device_rules_reach_the_cgroups_and_inspect(md):
    dev = _block_device()
    number = f"{os.major(os.stat(dev).st_rdev)}:{os.minor(os.stat(dev).st_rdev)}"
    md.ok("create", "--name", "io1", "--network", "none", "--device-read-bps", f"{dev}:1mb",
          "--device-write-iops", f"{dev}:100", "--device-cgroup-rule", "c 42:* rmw", "busybox", "sleep", "100")
    host = md.inspect("io1")["HostConfig"]
    assert host["BlkioDeviceReadBps"] == [{"Path": dev, "Rate": 1 << 20}]
    assert host["BlkioDeviceWriteIOps"] == [{"Path": dev, "Rate": 100}]
    assert host["BlkioDeviceWriteBps"] is None and host["DeviceCgroupRules"] == ["c 42:* rmw"]
    md.ok("start", "io1")
    cgroups = md.inspect("io1")["Mydocker"]["Cgroups"]
    if "blkio" in cgroups:
        read = open(os.path.join(cgroups["blkio"], "blkio.throttle.read_bps_device")).read()
        iops = open(os.path.join(cgroups["blkio"], "blkio.throttle.write_iops_device")).read()
        assert read.split() == [number, str(1 << 20)] and iops.split() == [number, "100"]
        assert "c 42:* rwm" in open(os.path.join(cgroups["devices"], "devices.list")).read()
    else:
        assert f"{number} rbps=1048576" in open(os.path.join(cgroups["unified"], "io.max")).read()
    md.ok("rm", "-f", "io1")


BAD_VALUES = [
    ("--device-read-bps", "/dev/x:abc", "invalid rate for device: /dev/x:abc"),
    ("--device-write-bps", "vda:1mb", "bad format for device path: vda:1mb"),
    ("--device-read-iops", "/dev/x:1.5", "Number must be a positive integer"),
    ("--device-read-bps", "/dev/nope-s3:1mb", "stat /dev/nope-s3: no such file or directory"),
    ("--device-cgroup-rule", "c 1:2 rwx", "invalid device cgroup format 'c 1:2 rwx'"),
    ("--cgroupns", "bogus", "--cgroupns: invalid CGROUP mode."),
    ("--blkio-weight", "x", 'strconv.ParseUint: parsing "x": invalid syntax'),
]


def test_bad_values_are_refused_with_dockers_words(md):
    for flag, value, words in BAD_VALUES:
        result = md("create", flag, value, "busybox", "true")
        assert result.code == 125 and words in result.err and result.err.count("\n") == 1, result.err
    assert md.ok("ps", "-aq") == ""


def test_the_container_sees_its_own_cgroups_read_only(md):
    script = ("cat /proc/self/cgroup; echo ==; if [ -d /sys/fs/cgroup/memory ]; then "
              "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; else cat /sys/fs/cgroup/memory.max; fi; "
              "echo ==; mkdir /sys/fs/cgroup/pids/x /sys/fs/cgroup/x 2>&1 | grep -c 'Read-only file system'")
    out = md.ok("run", "--rm", "--network", "none", "-m", "64m", "--cgroupns", "private", "busybox", "sh", "-c", script)
    own, limit, refused = out.split("==\n")
    assert {line.split(":", 2)[2] for line in own.splitlines()} <= {"/"}, own
    assert limit.strip() == str(64 << 20)
    assert int(refused) >= 1
    default = md.ok("run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/cgroup")
    if detect_mode() == "v2":
        assert default.strip() == "0::/"  # docker's default on v2: private
    else:
        assert "mydocker-" in default  # docker's default on v1: the host's namespace
        assert md.ok("run", "--rm", "--network", "none", "--cgroupns", "host", "busybox",
                     "cat", "/proc/self/cgroup") .count("mydocker-") >= 1
