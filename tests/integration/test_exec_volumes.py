"""exec and volumes on the real kernel."""

from __future__ import annotations

import json
import os

from tests.integration.conftest import PtySession


def _mounts_of(pid: int) -> list[str]:
    with open(f"/proc/{pid}/mounts") as f:
        return [line.split()[1] for line in f]


def test_exec_sees_hostname_pid_namespace_and_env(md):
    md.ok("run", "-d", "--name", "web", "-h", "webhost", "-e", "FROM_RUN=1", "busybox", "top")
    assert md.ok("exec", "web", "hostname").strip() == "webhost"
    ps = md.ok("exec", "web", "ps", "-o", "pid,comm").splitlines()[1:]
    comms = {line.split()[1] for line in ps}
    assert comms == {"top", "ps"}, ps  # the container's processes only
    assert "1 top" in " ".join(" ".join(line.split()) for line in ps)
    env = md.ok("exec", "-e", "FOO=bar", "web", "env").splitlines()
    assert "FOO=bar" in env and "FROM_RUN=1" in env and "HOSTNAME=webhost" in env
    init_pid = md.inspect("web")["State"]["Pid"]
    exec_pid = int(md.ok("exec", "web", "sh", "-c", "echo $$").strip())
    assert exec_pid > 1 and exec_pid != init_pid  # a pid inside the namespace
    cg = md.inspect("web")["Mydocker"]["Cgroups"]["memory"]
    inside = md.ok("exec", "web", "sh", "-c", "cat /proc/self/cgroup").splitlines()
    assert any(line.endswith(cg.split("/")[-1]) for line in inside if ":memory:" in line), inside
    md.ok("rm", "-f", "web")


def test_exec_exit_codes_workdir_user_and_events(md, tmp_path):
    cid = md.ok("run", "-d", "--name", "ex", "-v", f"{tmp_path}/data:/data", "busybox", "top").strip()
    assert md("exec", "ex", "sh", "-c", "exit 7").code == 7
    assert md("exec", "ex", "true").code == 0
    missing = md("exec", "ex", "no-such-cmd")
    assert missing.code == 127 and "executable file not found" in missing.err
    md.ok("exec", "-e", "FOO=bar", "-w", "/data", "ex", "sh", "-c", "echo $FOO > out")
    assert (tmp_path / "data" / "out").read_text() == "bar\n"
    assert md.ok("exec", "-u", "65534", "ex", "id", "-u").strip() == "65534"
    assert md.ok("exec", "-u", "nobody:nogroup", "ex", "id").startswith("uid=65534(nobody) gid=65534")
    assert md.ok("exec", "-u", "1000:1000", "ex", "id").startswith("uid=1000 gid=1000")
    killed = md("exec", "ex", "sh", "-c", "kill -9 $$")
    assert killed.code == 137
    events = md.events(cid)
    assert events.count("exec_start") == events.count("exec_die") == 8
    with md.db() as conn:
        codes = [json.loads(p)["exit_code"] for (p,) in conn.execute(
            "SELECT payload FROM events WHERE stream_id = ? AND type = 'exec_die' ORDER BY version", (cid,))]
    assert codes == [7, 0, 127, 0, 0, 0, 0, 137]
    assert md.inspect("ex")["State"]["Status"] == "running"
    assert md.ok("replay", "--check").strip() == "projections match the log"
    md.ok("rm", "-f", "ex")


def test_exec_into_stopped_or_unknown_container_fails(md):
    cid = md.ok("create", "--name", "idle", "busybox", "top").strip()
    before = md.events(cid)
    result = md("exec", "idle", "ls")
    assert result.code == 1 and result.err.strip() == f"Error: container {cid} is not running"
    assert md.events(cid) == before
    unknown = md("exec", "nope", "ls")
    assert unknown.code == 1 and unknown.err.strip() == "Error: No such container: nope"
    assert md("exec", "idle").code == 1  # no command: docker (cobra) says so with 1
    md.ok("rm", "idle")


def test_exec_interactive_tty(md):
    md.ok("run", "-d", "--name", "tt", "busybox", "top")
    session = PtySession(md.root, "exec", "-it", "tt", "sh")
    session.read_until(b"# ")
    session.type(b"tty; echo $((6*7))")
    session.read_until(b"42")
    assert b"/dev/pts/0" in session.output  # a pty of the container's own devpts
    session.type(b"exit 3")
    assert session.exit_code() == 3
    md.ok("rm", "-f", "tt")


def test_bind_mounts_rw_and_ro_live_only_in_the_container(md, tmp_path):
    data, conf = tmp_path / "srv" / "data", tmp_path / "srv" / "conf"
    conf.mkdir(parents=True)
    (conf / "app.conf").write_text("setting=1\n")
    md.ok("run", "-d", "--name", "vols", "-v", f"{data}:/data", "-v", f"{conf}:/conf:ro", "busybox", "top")
    assert data.is_dir(), "a missing host path is created, as docker does"
    md.ok("exec", "vols", "sh", "-c", "echo hello > /data/file")
    assert (data / "file").read_text() == "hello\n"
    refused = md("exec", "vols", "sh", "-c", "echo x > /conf/app.conf")
    assert refused.code != 0 and "Read-only file system" in refused.err
    assert (conf / "app.conf").read_text() == "setting=1\n"
    assert md.ok("exec", "vols", "cat", "/conf/app.conf") == "setting=1\n"
    pid = md.inspect("vols")["State"]["Pid"]
    assert "/data" in _mounts_of(pid) and "/conf" in _mounts_of(pid)
    with open("/proc/mounts") as f:
        assert str(tmp_path) not in f.read(), "volume mounts must not exist in the host's namespace"
    md.ok("stop", "-t", "1", "vols")
    with open("/proc/mounts") as f:
        assert str(tmp_path) not in f.read()
    md.ok("start", "vols")  # mounted again on start
    assert md.ok("exec", "vols", "cat", "/data/file") == "hello\n"
    md.ok("rm", "-f", "vols")
    assert (data / "file").read_text() == "hello\n"


def test_named_volume_persists_across_rm_and_containers(md):
    md.ok("run", "--name", "w1", "-v", "keep:/store", "busybox", "sh", "-c", "echo persisted > /store/f")
    assert "keep" in md.ok("volume", "ls", "-q").split()
    busy = md("volume", "rm", "keep")
    assert busy.code == 1 and "volume is in use" in busy.err
    md.ok("rm", "w1")
    out = md.ok("run", "--rm", "-v", "keep:/again", "busybox", "cat", "/again/f")
    assert out == "persisted\n"
    info = json.loads(md.ok("volume", "inspect", "keep"))[0]
    assert info["Name"] == "keep" and info["Driver"] == "local"
    assert open(os.path.join(info["Mountpoint"], "f")).read() == "persisted\n"
    md.ok("volume", "rm", "keep")
    assert md.ok("volume", "ls", "-q") == ""
    assert not os.path.exists(info["Mountpoint"])
    assert md("volume", "rm", "keep").code == 1
    md.ok("volume", "create", "made")
    assert md.ok("volume", "ls", "-q").split() == ["made"]
    md.ok("volume", "rm", "made")
    assert md.ok("replay", "--check").strip() == "projections match the log"


def test_anonymous_volumes_go_with_rm_v_only(md):
    md.ok("run", "--name", "a1", "-v", "/scratch", "busybox", "true")
    md.ok("run", "--name", "a2", "-v", "/scratch", "busybox", "true")
    assert len(md.ok("volume", "ls", "-q").split()) == 2
    md.ok("rm", "a1")
    assert len(md.ok("volume", "ls", "-q").split()) == 2, "rm without -v keeps anonymous volumes"
    md.ok("rm", "-v", "a2")
    assert len(md.ok("volume", "ls", "-q").split()) == 1
    md.ok("run", "--rm", "-v", "/tmpvol", "busybox", "true")
    assert len(md.ok("volume", "ls", "-q").split()) == 1, "run --rm removes its anonymous volumes"
    for name in md.ok("volume", "ls", "-q").split():
        md.ok("volume", "rm", name)


def test_bad_volume_flags_change_nothing(md):
    for spec in ("/a:relative", "/a:/", "/a:/b:bogus", "bad name:/x"):
        result = md("run", "--rm", "-v", spec, "busybox", "true")
        assert result.code == 125 and result.err.startswith("Error: ") and "Traceback" not in result.err
    assert md.ok("ps", "-aq") == "" and md.ok("volume", "ls", "-q") == ""
