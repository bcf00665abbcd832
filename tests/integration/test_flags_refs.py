"""Flags that name another container (issue 10, helper flags3): --volumes-from,
--ipc container:X, --pid container:X, and --ipc shareable. Expected words and
fields are docker 20.10's, taken side by side on this host. One state root for
the module: each test removes its own containers."""

from __future__ import annotations

import os

import pytest

from tests.integration.conftest import _checked_runtime


@pytest.fixture(scope="module")
def mdr(tmp_path_factory: pytest.TempPathFactory):
    yield from _checked_runtime(tmp_path_factory.mktemp("flags-refs"))


def test_volumes_from_a_created_container(mdr, tmp_path):
    host_dir = tmp_path / "shared"
    host_dir.mkdir()
    (host_dir / "f").write_text("from the host\n")
    mdr.ok("create", "--name", "donor", "--network", "none", "-v", "/data", "-v", f"{host_dir}:/hostdir:ro",
           "busybox", "true")
    # the donor's anonymous volume and its bind, at the same places; its modes kept
    out = mdr.ok("run", "--rm", "--network", "none", "--volumes-from", "donor", "busybox", "sh", "-c",
                 "echo hi > /data/x && cat /data/x /hostdir/f; touch /hostdir/y 2>/dev/null || echo ro")
    assert out == "hi\nfrom the host\nro\n"
    # :ro makes every borrowed mount read-only
    r = mdr("run", "--rm", "--network", "none", "--volumes-from", "donor:ro", "busybox", "touch", "/data/z")
    assert r.code == 1 and "Read-only file system" in r.err
    mdr.ok("create", "--name", "user", "--network", "none", "--volumes-from", "donor:ro", "busybox", "true")
    info = mdr.inspect("user")
    donor_volume = mdr.inspect("donor")["Mounts"]
    assert info["HostConfig"]["VolumesFrom"] == ["donor:ro"]
    assert mdr.inspect("donor")["HostConfig"]["VolumesFrom"] is None
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    by_dest = {m["Destination"]: m for m in donor_volume}
    assert set(mounts) == {"/data", "/hostdir"}
    assert mounts["/data"]["Name"] == by_dest["/data"]["Name"] and mounts["/data"]["RW"] is False
    assert mounts["/hostdir"]["Source"] == str(host_dir) and mounts["/hostdir"]["RW"] is False
    # the volume is the donor's: removing the borrower with -v keeps it
    mdr.ok("rm", "-v", "user")
    assert mdr.ok("volume", "ls", "-q").split() == [by_dest["/data"]["Name"]]
    mdr.ok("rm", "-v", "donor")
    assert mdr.ok("volume", "ls", "-q") == ""


def test_volumes_from_a_running_container_and_own_mounts_win(mdr):
    mdr.ok("run", "-d", "--name", "live", "--network", "none", "-v", "/data", "-v", "/other", "busybox",
           "sh", "-c", "echo live > /data/f; sleep 60")
    mdr.ok("exec", "live", "sh", "-c", "test -s /data/f")
    out = mdr.ok("run", "--rm", "--network", "none", "--volumes-from", "live", "-v", "/other",
                 "busybox", "sh", "-c", "cat /data/f; ls /other | wc -l; echo new > /other/g")
    assert out == "live\n0\n"
    # /other was the container's own anonymous volume, not the donor's
    assert mdr.ok("exec", "live", "ls", "/other") == ""
    mdr.ok("rm", "-f", "-v", "live")
    for leftover in mdr.ok("volume", "ls", "-q").split():
        mdr.ok("volume", "rm", leftover)


@pytest.mark.parametrize("flags, words", [
    (["--volumes-from", "nosuch"], "No such container: nosuch"),
    (["--volumes-from", "x:xx"], "invalid mode: xx"),
    (["--ipc", "container:nosuch"], "No such container: nosuch"),
    (["--pid", "container:nosuch"], "No such container: nosuch"),
    (["--ipc", "container:"], 'can\'t join IPC of container : invalid name or ID supplied: ""'),
    (["--pid", "container:"], "--pid: invalid PID mode"),
    (["--pid", "foo"], "--pid: invalid PID mode"),
    (["--ipc", "foo"], "Invalid IPC mode: foo"),
    (["--runtime", "foo"], "Unknown runtime specified foo"),
    (["--userns", "private"], "--userns: invalid USER mode"),
    (["--blkio-weight-device", "/dev/null:5"], "invalid weight for device: /dev/null:5"),
])
def test_bad_references_are_refused(mdr, flags, words):
    r = mdr("create", "--network", "none", *flags, "busybox", "true")
    assert r.code == 125 and r.out == "" and words in r.err and r.err.count("\n") == 1, r
    assert mdr.ok("ps", "-aq") == ""


def _ns(mdr, name: str, kind: str) -> str:
    return mdr.ok("exec", name, "readlink", f"/proc/self/ns/{kind}").strip()


def test_ipc_and_pid_of_another_container(mdr):
    mdr.ok("run", "-d", "--name", "shared", "--network", "none", "--ipc", "shareable", "busybox", "sleep", "60")
    mdr.ok("run", "-d", "--name", "private", "--network", "none", "busybox", "sleep", "60")
    shared_id = mdr.inspect("shared")["Id"]
    mdr.ok("exec", "shared", "sh", "-c", "echo from-the-donor > /dev/shm/note")
    out = mdr.ok("run", "--rm", "--network", "none", "--ipc", "container:shared", "--pid", "container:shared",
                 "busybox", "sh", "-c", "readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid; "
                 "cat /dev/shm/note; echo back > /dev/shm/reply; ps -o args")
    ipc, pid, note, *ps = out.splitlines()
    assert note == "from-the-donor"  # docker shares the donor's /dev/shm with the IPC namespace
    assert mdr.ok("exec", "shared", "cat", "/dev/shm/reply") == "back\n"
    assert mdr("exec", "private", "cat", "/dev/shm/note").code == 1
    assert ipc == _ns(mdr, "shared", "ipc") != _ns(mdr, "private", "ipc")
    assert pid == _ns(mdr, "shared", "pid")
    assert "sleep 60" in ps  # the donor's process, seen from the joined pid namespace
    mdr.ok("create", "--name", "joiner", "--network", "none", "--ipc", "container:shared", "--pid", "container:private",
           "busybox", "sleep", "60")
    host = mdr.inspect("joiner")["HostConfig"]
    assert host["IpcMode"] == f"container:{shared_id}"
    assert host["PidMode"] == f"container:{mdr.inspect('private')['Id']}"
    mdr.ok("start", "joiner")
    assert _ns(mdr, "joiner", "pid") == _ns(mdr, "private", "pid")
    assert _ns(mdr, "joiner", "ipc") == _ns(mdr, "shared", "ipc")
    mdr.ok("rm", "-f", "joiner")

    # docker 20.10's default IPC mode is private: not lent to others
    private_id = mdr.inspect("private")["Id"]
    mdr.ok("create", "--name", "refused", "--network", "none", "--ipc", "container:private", "busybox", "true")
    r = mdr("start", "refused")
    assert r.code == 1 and (f"can't join IPC of container {private_id}: non-shareable IPC "
                            "(hint: use IpcMode:shareable for the donor container)") in r.err, r
    assert mdr.inspect("refused")["State"]["Status"] == "created"
    mdr.ok("rm", "refused")

    # a donor that does not run lends nothing, with docker's words
    mdr.ok("stop", "-t", "0", "shared")
    r = mdr("run", "--rm", "--network", "none", "--ipc", "container:shared", "busybox", "true")
    assert r.code == 125 and f"can't join IPC of container {shared_id}: container {shared_id} is not running" in r.err
    r = mdr("run", "--rm", "--network", "none", "--pid", "container:shared", "busybox", "true")
    assert r.code == 125 and f"container {shared_id} is not running" in r.err
    mdr.ok("rm", "-f", "shared", "private")
    assert mdr.ok("ps", "-aq") == ""


def _a_block_device() -> str:
    for name in sorted(os.listdir("/sys/block")):
        if os.path.exists(f"/dev/{name}") and not name.startswith(("loop", "ram")):
            return f"/dev/{name}"
    return "/dev/loop0"


def test_runtime_userns_and_weight_device(mdr):
    from mydocker.core import cgroups

    device = _a_block_device()
    r = mdr("create", "--name", "rt", "--network", "none", "--runtime", "runc", "--userns", "host",
            "--blkio-weight-device", f"{device}:300", "busybox", "true")
    assert r.code == 0, r
    host = mdr.inspect("rt")["HostConfig"]
    assert (host["Runtime"], host["UsernsMode"]) == ("runc", "host")
    blkio = mdr.inspect("rt")["Mydocker"]["Cgroups"]
    directory = blkio.get("blkio") or blkio["unified"]
    if cgroups.weight_device_file(os.path.dirname(directory)) is None:  # this host's kernel: docker's warning
        assert r.err == ("WARNING: Your kernel does not support Block I/O weight_device or the cgroup is not "
                         "mounted. Weight-device discarded.\n")
        assert host["BlkioWeightDevice"] == []
    else:
        assert host["BlkioWeightDevice"] == [{"Path": device, "Weight": 300}]
        mdr.ok("start", "rt")
    mdr.ok("rm", "rt")
    mdr.ok("create", "--name", "plain", "--network", "none", "busybox", "true")
    host = mdr.inspect("plain")["HostConfig"]
    assert (host["Runtime"], host["UsernsMode"], host["BlkioWeightDevice"]) == ("runc", "", [])
    mdr.ok("rm", "plain")
