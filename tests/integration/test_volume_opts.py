"""`volume create -o`: the local driver's tmpfs and bind volumes on the real kernel.

One API service over one checked root for the module (its leak check sees mounts
at the end); every test also looks at the host's mount table itself, since a
volume's device is mounted on the host while containers use it and must be gone
when the last of them is."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.integration.api_service import DOCKER_CLI, ApiService, serve_api


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    yield from serve_api(tmp_path_factory, "volopts")


def _mounts(path: Path) -> list[list[str]]:
    """The host's mounts on path: [device, point, type, options] each."""
    with open("/proc/mounts") as f:
        return [line.split()[:4] for line in f if line.split()[1] == str(path)]


def _data(api: ApiService, name: str) -> Path:
    return api.rt.root / "volumes" / name / "_data"


def test_tmpfs_volume_is_shared_while_used_and_gone_with_its_last_user(api: ApiService) -> None:
    md = api.rt
    assert md.ok("volume", "create", "--driver", "local", "-o", "type=tmpfs", "-o", "device=tmpfs",
                 "--opt", "o=size=1m,uid=1000", "scratch").strip() == "scratch"
    info = json.loads(md.ok("volume", "inspect", "scratch"))[0]
    assert info["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m,uid=1000"}
    with md.db() as conn:
        (payload,) = conn.execute(
            "SELECT payload FROM events WHERE stream_id = 'scratch' AND type = 'create'").fetchone()
    assert json.loads(payload)["options"] == info["Options"]  # the log holds them
    assert _mounts(_data(api, "scratch")) == [], "nothing is mounted before a container uses it"

    md.ok("run", "-d", "--name", "writer", "--network", "none", "-v", "scratch:/d", "busybox",
          "sh", "-c", "echo from-writer > /d/note; exec sleep 300")
    md.ok("run", "-d", "--name", "reader", "--network", "none", "-v", "scratch:/data", "busybox", "sleep", "300")
    assert md.ok("exec", "reader", "cat", "/data/note") == "from-writer\n"  # one tmpfs for both
    inside = md.ok("exec", "reader", "stat", "-c", "%u", "/data").strip()
    assert inside == "1000"  # the o= options reached mount(2)
    (mount,) = _mounts(_data(api, "scratch"))
    assert mount[2] == "tmpfs" and "size=1024k" in mount[3] and "uid=1000" in mount[3]
    busy = md("volume", "rm", "scratch")
    assert busy.code == 1 and "volume is in use" in busy.err
    assert "mount" not in md.ok("system", "check"), "a mount a running container uses is no leak"

    md.ok("stop", "-t", "0", "writer")
    assert len(_mounts(_data(api, "scratch"))) == 1, "the reader still runs on it"
    md.ok("rm", "-f", "reader")
    assert _mounts(_data(api, "scratch")) == [], "the last user went: unmounted"
    md.ok("start", "writer")  # a new run mounts a fresh tmpfs
    assert md.ok("exec", "writer", "ls", "/d").split() == ["note"]
    assert len(_mounts(_data(api, "scratch"))) == 1
    md.ok("rm", "-f", "writer")
    assert _mounts(_data(api, "scratch")) == []
    md.ok("volume", "rm", "scratch")
    assert not _data(api, "scratch").exists()


def test_bind_volume_shows_the_host_directory_and_rm_leaves_it(api: ApiService, tmp_path: Path) -> None:
    md = api.rt
    host = tmp_path / "shared"
    host.mkdir()
    (host / "from-host").write_text("hello\n")
    md.ok("volume", "create", "-o", "type=none", "-o", f"device={host}", "-o", "o=bind", "hostdir")
    assert md.ok("run", "--rm", "--network", "none", "-v", "hostdir:/srv", "busybox",
                 "sh", "-c", "cat /srv/from-host; echo back > /srv/from-ctr") == "hello\n"
    assert (host / "from-ctr").read_text() == "back\n"
    assert _mounts(_data(api, "hostdir")) == []
    # a mount a crash left behind: `volume rm` unmounts before it deletes, the host's files stay
    subprocess.run(["mount", "--bind", str(host), str(_data(api, "hostdir"))], check=True)
    md.ok("volume", "rm", "hostdir")
    assert sorted(os.listdir(host)) == ["from-ctr", "from-host"]
    assert _mounts(_data(api, "hostdir")) == []

    # docker's words when the device is not there at mount time; nothing stays mounted
    md.ok("volume", "create", "-o", "type=none", "-o", f"device={tmp_path}/missing", "-o", "o=bind", "nodir")
    failed = md("run", "--name", "nodir-user", "--network", "none", "-v", "nodir:/srv", "busybox", "true")
    assert failed.code == 127  # docker's CLI: a start error naming a missing file
    assert failed.err == (f"Error: error while mounting volume '{_data(api, 'nodir')}': failed to mount local volume: "
                          f"mount {tmp_path}/missing:{_data(api, 'nodir')}, flags: 0x1000: no such file or directory\n")
    assert md.inspect("nodir-user")["State"]["Status"] == "created"  # as docker leaves it
    again = md("start", "nodir-user")
    assert again.code == 1 and "failed to mount local volume" in again.err
    # a type this host cannot mount: the kernel's reason, as docker's local driver reports it
    md.ok("volume", "create", "-o", "type=ext4", "-o", f"device={tmp_path}/no-disk", "disk")
    ext4 = md("run", "--rm", "--network", "none", "-v", "disk:/srv", "busybox", "true")
    assert ext4.code == 127 and f"mount {tmp_path}/no-disk:{_data(api, 'disk')}: " in ext4.err
    md.ok("rm", "nodir-user")
    md.ok("volume", "rm", "nodir", "disk")
    assert md.ok("volume", "ls", "-q") == ""


def test_bad_options_are_refused_and_nothing_is_made(api: ApiService) -> None:
    md = api.rt
    for args, words in [
        (["-o", "x=1"], 'Error: create bad: invalid option: "x"\n'),
        (["-o", "foo"], 'Error: create bad: invalid option: "foo"\n'),
        (["-o", "o=size=1m"], 'Error: create bad: missing required option: "device"\n'),
        (["-o", "device=/tmp"], 'Error: create bad: missing required option: "type"\n'),
        (["-o", "type=tmpfs"], 'Error: create bad: missing required option: "device"\n'),
        (["-o", "size=1m"], "Error: create bad: quota size requested but no quota support\n"),
    ]:
        result = md("volume", "create", *args, "bad")
        assert (result.code, result.err) == (1, words), args
    assert md.ok("volume", "ls", "-q") == ""
    with md.db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM events WHERE stream_id = 'bad'").fetchone()[0] == 0
    assert not (md.root / "volumes" / "bad").exists()
    # the Engine API: dockerd's 400 and words; DriverOpts shown in create, inspect and the list
    refused = api.request("POST", "/v1.41/volumes/create", {"Name": "bad", "DriverOpts": {"x": "1"}})
    assert refused.status == 400 and refused.json() == {"message": 'create bad: invalid option: "x"'}
    assert api.request("POST", "/v1.41/volumes/create", {"Name": "bad", "DriverOpts": {"type": 5}}).status == 400
    made = api.request("POST", "/v1.41/volumes/create",
                       {"Name": "viaapi", "DriverOpts": {"type": "tmpfs", "device": "tmpfs", "o": "size=2m"}})
    assert made.status == 201 and made.json()["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=2m"}
    listed = {v["Name"]: v["Options"] for v in api.request("GET", "/v1.41/volumes").json()["Volumes"]}
    assert listed == {"viaapi": {"type": "tmpfs", "device": "tmpfs", "o": "size=2m"}}
    if DOCKER_CLI:  # docker's own client, run through the service: the container is started there
        out = api.docker("run", "--rm", "--network", "none", "-v", "viaapi:/t", "busybox", "sh", "-c",
                         "grep ' /t ' /proc/mounts")
        assert out.returncode == 0 and "tmpfs /t tmpfs rw" in out.stdout and "size=2048k" in out.stdout, out
        bad = api.docker("volume", "create", "-o", "x=1", "bad")
        assert bad.returncode == 1
        assert bad.stderr == 'Error response from daemon: create bad: invalid option: "x"\n'
    assert _mounts(_data(api, "viaapi")) == []
    md.ok("volume", "rm", "viaapi")


def test_a_killed_waiter_and_a_crash_leave_no_mount(api: ApiService) -> None:
    md = api.rt
    md.ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "crashy")
    md.ok("run", "-d", "--name", "orphan", "--network", "none", "-v", "crashy:/d", "busybox", "sleep", "300")
    state = md.inspect("orphan")
    os.kill(state["Mydocker"]["MonitorPid"], signal.SIGKILL)  # the waiter goes, the container runs on
    assert md.inspect("orphan")["State"]["Status"] == "running"  # adopted by reconcile
    assert len(_mounts(_data(api, "crashy"))) == 1, "its container still runs: the mount stays"
    os.kill(state["State"]["Pid"], signal.SIGKILL)
    md.ok("wait", "orphan")  # the adopter records the death and releases the volume
    # wait returns once the adopter is done (it records die first, then unmounts)
    assert _mounts(_data(api, "crashy")) == []

    # a mount left by a crash between mount and record: system check names it while
    # someone holds the volume, and the next command's reconcile unmounts it
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(_data(api, "crashy"))], check=True)
    fd = os.open(md.root / "locks" / "volume-crashy", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        check = md("system", "check")
        assert check.code == 1 and f"leaked: mount {_data(api, 'crashy')}\n" in check.out
        assert len(_mounts(_data(api, "crashy"))) == 1, "a held volume is someone's work: left alone"
    finally:
        os.close(fd)
    md.ok("ps")
    assert _mounts(_data(api, "crashy")) == []
    md.ok("rm", "orphan")
    md.ok("volume", "rm", "crashy")
