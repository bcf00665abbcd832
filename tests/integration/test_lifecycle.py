"""The issue's seed scenario and the lifecycle around it, on the real kernel."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

from tests.integration.conftest import MYDOCKER, PtySession


def test_seed_scenario_step_by_step(md):
    out = md.ok("run", "-d", "--name", "rm1", "busybox", "top")
    cid = out.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)

    ps = md.ok("ps")
    assert "rm1" in ps and cid[:12] in ps and "Up " in ps
    assert md.ok("ps", "-q").split() == [cid[:12]]

    before = md.events(cid)
    refused = md("rm", "rm1")
    assert refused.code == 1
    assert "cannot remove a running container" in refused.err
    assert md.events(cid) == before, "a refused rm must not touch the log"
    assert md.inspect("rm1")["State"]["Running"] is True

    md.ok("stop", "-t", "2", "rm1")
    state = md.inspect("rm1")["State"]
    assert state["Status"] == "exited" and state["Running"] is False and state["Pid"] == 0
    cgroups = md.inspect("rm1")["Mydocker"]["Cgroups"]
    assert cgroups and not any(os.path.isdir(d) for d in cgroups.values()), "stopped: cgroups removed"

    directory = md.root / "containers" / cid
    assert directory.is_dir()
    md.ok("rm", "rm1")
    assert "rm1" not in md.ok("ps", "-a")
    assert not directory.exists()
    assert md.events(cid) == ["create", "connect", "start", "kill", "die", "disconnect", "stop", "destroying",
                              "destroy"]

    cid2 = md.ok("run", "-d", "--name", "rm2", "busybox", "top").strip()
    pid = md.inspect(cid2)["State"]["Pid"]
    assert pid > 0 and os.path.exists(f"/proc/{pid}")
    md.ok("rm", "-f", "rm2")
    assert not os.path.exists(f"/proc/{pid}") or _zombie_or_gone(pid)
    assert md.ok("ps", "-aq") == ""
    assert md.events(cid2)[-5:] == ["kill", "die", "disconnect", "destroying", "destroy"]

    exited = md("run", "--rm", "busybox", "sh", "-c", "exit 3")
    assert exited.code == 3
    assert md.ok("ps", "-aq") == ""
    assert md.ok("replay", "--check").strip() == "projections match the log"


def _zombie_or_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_seed_single_dash_spellings(md):
    cid = md.ok("run", "-d", "-name", "seed", "-mem", "100m", "-cpu", "0.5", "-cpuset", "0",
                "busybox", "top").strip()
    try:
        info = md.inspect("seed")
        assert info["Id"] == cid and info["Name"] == "/seed"
        host = info["HostConfig"]
        assert host["Memory"] == 100 * 1024 * 1024
        assert host["CpuQuota"] == 50000 and host["CpuPeriod"] == 100000
        assert host["CpusetCpus"] == "0"
        cg = info["Mydocker"]["Cgroups"]
        assert open(os.path.join(cg["memory"], "memory.limit_in_bytes")).read().strip() == str(100 << 20)
        assert open(os.path.join(cg["cpu"], "cpu.cfs_quota_us")).read().strip() == "50000"
        assert open(os.path.join(cg["cpuset"], "cpuset.cpus")).read().strip() == "0"
        pid = str(info["State"]["Pid"])
        assert pid in open(os.path.join(cg["memory"], "cgroup.procs")).read().split()
    finally:
        md.ok("rm", "-f", "seed")


def test_cgroups_nest_under_the_callers_own_cgroup(md):
    own = {}
    for line in open("/proc/self/cgroup"):
        _, controllers, path = line.strip().split(":", 2)
        for c in controllers.split(","):
            own[c] = path
    md.ok("run", "-d", "--name", "nest", "busybox", "top")
    try:
        cg = md.inspect("nest")["Mydocker"]["Cgroups"]
        assert cg["memory"].startswith(os.path.join("/sys/fs/cgroup/memory", own["memory"].lstrip("/")))
        assert os.path.basename(cg["memory"]).startswith("mydocker-")
    finally:
        md.ok("rm", "-f", "nest")


def test_cgroup_parent(md):
    parent = f"mdtest-parent-{os.getpid()}"
    md.ok("run", "-d", "--name", "cgp", "--cgroup-parent", parent, "busybox", "top")
    try:
        cg = md.inspect("cgp")["Mydocker"]["Cgroups"]
        assert cg["pids"].startswith(f"/sys/fs/cgroup/pids/{parent}/mydocker-")
    finally:
        md.ok("rm", "-f", "cgp")
        for d in cg.values():
            p = os.path.dirname(d)
            if os.path.isdir(p):
                os.rmdir(p)


def test_detached_container_that_exits_by_itself(md):
    cid = md.ok("run", "-d", "--name", "quick", "busybox", "sh", "-c", "sleep 0.2; exit 7").strip()
    assert md.ok("wait", "quick").strip() == "7"
    ps = md.ok("ps", "-a")
    assert "Exited (7)" in ps
    assert "quick" not in md.ok("ps")
    state = md.inspect(cid)["State"]
    assert state["ExitCode"] == 7 and state["Status"] == "exited"
    assert state["FinishedAt"] >= state["StartedAt"]
    md.ok("rm", "quick")


def test_detached_run_returns_at_once_and_holds_no_caller_fds(md):
    started = time.monotonic()
    proc = subprocess.run([MYDOCKER, "--root", str(md.root), "run", "-d", "--name", "bg", "busybox", "sleep", "60"],
                          capture_output=True, timeout=20)
    assert proc.returncode == 0
    assert time.monotonic() - started < 10, "the monitor kept our stdout open"
    monitor = md.inspect("bg")["Mydocker"]["MonitorPid"]
    fds = os.listdir(f"/proc/{monitor}/fd")
    targets = [os.readlink(f"/proc/{monitor}/fd/{fd}") for fd in fds]
    assert not any("mydocker.db" in t for t in targets)
    assert os.getsid(monitor) == monitor, "a detached monitor leads its own session"
    md.ok("rm", "-f", "bg")


def test_oom_kill_is_recorded(md):
    hog = "x=a; while true; do x=$x$x; done"
    result = md("run", "--name", "hog", "-m", "32m", "busybox", "sh", "-c", hog, timeout=120)
    assert result.code == 137
    state = md.inspect("hog")["State"]
    assert state["OOMKilled"] is True and state["ExitCode"] == 137
    assert md.inspect("hog")["Mydocker"]["DieReason"] == "oom"
    md.ok("rm", "hog")


def test_pids_limit_holds(md):
    script = "(for i in 1 2 3 4 5 6 7 8 9 10; do sleep 60 & done); echo spawned; exec sleep 60"
    md.ok("run", "-d", "--name", "forky", "--pids-limit", "5", "busybox", "sh", "-c", script)
    try:
        pids_dir = md.inspect("forky")["Mydocker"]["Cgroups"]["pids"]
        deadline = time.monotonic() + 10
        while "spawned" not in md.ok("logs", "forky") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert open(os.path.join(pids_dir, "pids.max")).read().strip() == "5"
        tasks = open(os.path.join(pids_dir, "cgroup.procs")).read().split()
        assert 1 <= len(tasks) <= 5
        assert "can't fork" in md("logs", "forky").err
    finally:
        md.ok("rm", "-f", "forky")


def test_container_is_isolated(md, tmp_path):
    marker = tmp_path / "host-only-marker"
    marker.write_text("secret")
    script = f"echo pid=$$; hostname; ps -o pid,comm; ls /; cat {marker} 2>&1; ip -o link"
    cid = md.ok("run", "--name", "iso", "--network", "none", "busybox", "sh", "-c", script)
    out = md.ok("logs", "iso")
    cid = md.inspect("iso")["Id"]
    assert "pid=1" in out
    assert cid[:12] in out.splitlines()
    pids = [line.split()[0] for line in out.splitlines() if re.match(r"^\s*\d+\s", line)]
    assert len(pids) <= 3, f"host processes visible: {out}"
    assert str(os.getpid()) not in pids
    assert "secret" not in out and "No such file" in out
    assert "work" not in out.split()
    links = [line for line in out.splitlines() if re.match(r"^\d+: ", line)]
    assert len(links) == 1 and "lo:" in links[0] and "UP" in links[0]
    md.ok("rm", "iso")


def test_kernel_filesystems_inside(md):
    out = md.ok("run", "--rm", "busybox", "sh", "-c",
                "cat /proc/mounts; ls /dev; touch /sys/x 2>&1; echo ok > /dev/shm/a && cat /dev/shm/a")
    mounts = {line.split()[1]: line.split() for line in out.splitlines() if line.count(" ") >= 5}
    assert mounts["/"][2] == "overlay"
    assert mounts["/proc"][2] == "proc"
    assert mounts["/sys"][2] == "sysfs" and mounts["/sys"][3].startswith("ro")
    assert mounts["/dev/pts"][2] == "devpts" and mounts["/dev/shm"][2] == "tmpfs"
    for dev in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "ptmx"):
        assert dev in out.split()
    assert "Read-only file system" in out
    assert out.strip().endswith("ok")


def test_exit_codes_like_docker(md):
    assert md("run", "--rm", "busybox", "no-such-command").code == 127
    r = md("run", "--rm", "busybox", "/etc")
    assert r.code == 126 and "permission denied" in r.err
    r = md("run", "--rm", "--memory", "lots", "busybox", "true")
    assert r.code == 125 and r.err.startswith("Error:") and len(r.err.strip().splitlines()) == 1
    assert md("run", "--rm", "--bogus-flag", "busybox", "true").code == 125
    assert md("run", "--rm", "no-such-image", "true").code == 125
    assert md.ok("ps", "-aq") == ""
    with md.db() as conn:
        bad = conn.execute(
            "SELECT COUNT(*) FROM events WHERE type = 'create' AND stream_type = 'container'").fetchone()[0]
    assert bad == 2, "only the two runs with good flags may create a container"


def test_rm_of_unknown_containers(md):
    r = md("rm", "nope")
    assert r.code == 1 and r.err.strip() == "Error: No such container: nope"
    r = md("rm", "-f", "nope")
    assert r.code == 0 and r.err == ""


def test_kill_signals_and_128_plus_n(md):
    md.ok("run", "-d", "--name", "kk", "busybox", "top")
    md.ok("kill", "-s", "TERM", "kk")  # top handles SIGTERM by dying of it
    assert md.ok("wait", "kk").strip() == "143"
    md.ok("start", "kk")
    assert md.inspect("kk")["State"]["Running"]
    md.ok("kill", "kk")
    assert md.ok("wait", "kk").strip() == "137"
    r = md("kill", "kk")
    assert r.code == 1 and "is not running" in r.err
    assert md("kill", "-s", "NOPE", "kk").code == 125
    md.ok("rm", "kk")


def test_illegal_transitions_change_nothing(md):
    cid = md.ok("create", "--name", "c1", "busybox", "true").strip()
    assert md.inspect("c1")["State"]["Status"] == "created"
    r = md("stop", "c1")
    assert r.code == 1 and "is not running" in r.err
    assert md.events(cid) == ["create"]
    md.ok("start", "c1")
    alive = ["create", "connect", "start", "die", "disconnect"]
    assert md.ok("wait", "c1").strip() == "0"
    r = md("stop", "c1")
    assert r.code == 1 and "is not running" in r.err
    events = md.events(cid)
    assert events == alive
    md.ok("rm", "c1")
    r = md("start", "c1")
    assert r.code == 1 and "No such container" in r.err
    assert md.events(cid) == [*alive, "destroying", "destroy"]


def test_names_ids_and_prefixes(md):
    bad = md("run", "--name", "-bad", "busybox", "true")
    assert bad.code == 125
    bad = md("run", "--name", "a b", "busybox", "true")
    assert bad.code == 125 and "Invalid container name" in bad.err
    cid = md.ok("create", "--name", "dup", "busybox", "true").strip()
    r = md("create", "--name", "dup", "busybox", "true")
    assert r.code == 125 and "already in use" in r.err
    anon = md.ok("create", "busybox", "true").strip()
    name = md.inspect(anon)["Name"].lstrip("/")
    assert re.fullmatch(r"[a-z]+_[a-z]+", name)
    assert md.inspect(cid[:8])["Id"] == cid
    md.ok("rm", cid[:10], name)
    assert md.ok("ps", "-aq") == ""


def test_env_workdir_hostname(md, tmp_path):
    env_file = tmp_path / "env.list"
    env_file.write_text("# comment\nFROM_FILE=yes\nB=file\n")
    out = md.ok("run", "--rm", "-e", "A=1", "-e", "FROM_HOST", "--env-file", str(env_file), "-e", "B=flag",
                "-w", "/srv/app", "--hostname", "box1", "busybox", "sh", "-c", "env; pwd; hostname",
                env={"FROM_HOST": "carried"})
    lines = out.splitlines()
    assert "A=1" in lines and "FROM_HOST=carried" in lines and "FROM_FILE=yes" in lines and "B=flag" in lines
    assert "HOSTNAME=box1" in lines and any(line.startswith("PATH=") for line in lines)
    assert lines[-2:] == ["/srv/app", "box1"]


def test_logs_keep_streams_apart(md):
    md.ok("run", "--name", "lg", "busybox", "sh", "-c", "echo out1; echo err1 >&2; sleep 0.2; echo out2")
    r = md("logs", "lg")
    assert r.out == "out1\nout2\n" and r.err == "err1\n"
    assert md.ok("logs", "--tail", "1", "lg") == "out2\n"
    stamped = md.ok("logs", "-t", "lg").splitlines()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z out1$", stamped[0])
    md.ok("rm", "lg")


def test_logs_follow_ends_when_the_container_exits(md):
    md.ok("run", "-d", "--name", "fl", "busybox", "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.3; done")
    r = md("logs", "-f", "fl", timeout=30)
    assert r.out == "line1\nline2\nline3\n"
    md.ok("rm", "fl")


def test_ps_formats(md):
    cid = md.ok("run", "-d", "--name", "fmt", "busybox", "sleep", "60").strip()
    assert md.ok("ps", "--format", "{{.ID}} {{.Names}} {{.Image}}").strip() == f"{cid[:12]} fmt busybox"
    assert md.ok("ps", "--no-trunc", "-q").strip() == cid
    table = md.ok("ps", "--format", "table {{.Names}}\\t{{.Status}}").splitlines()
    assert table[0].split() == ["NAMES", "STATUS"] and table[1].startswith("fmt ")
    row = json.loads(md.ok("ps", "--format", "json"))
    assert row["Names"] == "fmt" and row["Command"] == '"sleep 60"' and row["State"] == "running"
    assert " +0000 UTC" in row["CreatedAt"] and row["RunningFor"].endswith("ago")
    r = md("ps", "--format", "{{.Nope}}")  # docker 20.10: exit 1, Go's words
    assert (r.code, r.out) == (1, "") and "can't evaluate field Nope in type *formatter.ContainerContext" in r.err
    assert md.ok("inspect", "--format", "{{.State.Pid}}", "fmt").strip() == str(md.inspect("fmt")["State"]["Pid"])
    md.ok("rm", "-f", "fmt")


def test_interactive_tty(md):
    session = PtySession(md.root, "run", "-it", "--name", "tty1", "busybox", "sh")
    session.read_until(b"# ")
    session.type(b"[ -t 0 ] && echo is-a-$((1+1))-tty; echo $((6*7))")
    session.read_until(b"42")
    assert b"is-a-2-tty" in session.output
    session.type(b"exit 5")
    assert session.exit_code() == 5
    assert md.inspect("tty1")["State"]["ExitCode"] == 5
    assert "42" in md.ok("logs", "tty1")
    md.ok("rm", "tty1")


def test_stop_escalates_to_sigkill_after_timeout(md):
    md.ok("run", "-d", "--name", "stubborn", "busybox", "sleep", "600")
    started = time.monotonic()
    md.ok("stop", "-t", "1", "stubborn")
    assert time.monotonic() - started < 8
    assert md.inspect("stubborn")["State"]["ExitCode"] == 137
    md.ok("rm", "stubborn")
