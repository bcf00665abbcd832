"""mydocker-runc against the runtime spec: the lifecycle, the state, the errors
callers parse, and each config.json field it supports, on the real kernel."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from tests.integration.conftest import MYDOCKER
from tests.integration.oci_helpers import RUNC, Oci, reap_children


@pytest.fixture
def oci(md, tmp_path):
    runtime = Oci(tmp_path, md.root)
    yield runtime
    reap_children()
    leaks = runtime.leaks()
    if leaks:
        runtime.force_clean()
    assert not leaks, "the test left host objects behind:\n" + "\n".join(leaks)


def _events(md, container_id: str | None = None) -> list[tuple[str, dict, dict]]:
    with sqlite3.connect(md.root / "mydocker.db", timeout=30) as conn:
        rows = conn.execute("SELECT e.type, e.payload, e.actor FROM events e WHERE e.stream_type = 'container'"
                            " ORDER BY seq").fetchall()
    return [(t, json.loads(p), json.loads(a)) for t, p, a in rows]


def test_run_prints_and_exits_with_the_process_status(oci):
    bundle, _ = oci.bundle("run", ["sh", "-c", "echo hello from $(hostname); exit 7"])
    result = oci("run", "--bundle", str(bundle), "r1")
    assert result.code == 7, result.err
    assert result.out == "hello from runc\n"
    assert oci.ok("list", "-q") == ""


def test_create_start_kill_delete_as_the_spec_orders_them(oci, md):
    bundle, _ = oci.bundle("life", ["sh", "-c", "echo started; exec sleep 60"])
    pid_file = oci.tmp / "life.pid"
    oci.ok("create", "--bundle", str(bundle), "--pid-file", str(pid_file), "life")
    create_call = oci.calls
    state = oci.state("life")
    assert state["status"] == "created"
    assert state["pid"] == int(pid_file.read_text()) > 0
    assert state["bundle"] == str(bundle)
    assert state["id"] == "life" and state["ociVersion"].startswith("1.")
    assert oci.output_of(create_call) == ""  # the command has not run: create leaves it waiting
    assert Path(f"/proc/{state['pid']}").exists()
    oci.ok("start", "life")
    assert oci.state("life")["status"] == "running"
    assert oci("start", "life").code == 1  # started once only
    refused = oci("delete", "life")
    assert refused.code == 1 and "not stopped" in refused.err
    oci.ok("kill", "life", "KILL")
    oci.wait_stopped("life")
    assert oci.state("life")["pid"] == 0
    assert oci("kill", "life", "TERM").code == 1  # the spec: kill of a stopped container is an error
    oci.ok("delete", "life")
    assert oci.output_of(create_call) == "started\n"
    assert "does not exist" in oci("state", "life").err
    types = [t for t, _, _ in _events(md)]
    assert types == ["create", "start", "kill", "die", "destroying", "destroy"]


def test_the_log_has_the_exit_status_the_caller_reaped(oci, md):
    """The init is reaped by whoever is its subreaper, never by mydocker-runc; the
    exit watcher records what the kernel reported to the log."""
    bundle, _ = oci.bundle("seven", ["sh", "-c", "exit 7"])
    oci.ok("create", "--bundle", str(bundle), "seven")
    oci.ok("start", "seven")
    oci.wait_stopped("seven")
    oci.ok("delete", "seven")
    bundle, _ = oci.bundle("termed", ["sleep", "60"])
    oci.ok("create", "--bundle", str(bundle), "termed")
    oci.ok("start", "termed")
    oci.ok("kill", "termed", "KILL")
    oci.wait_stopped("termed")
    oci.ok("delete", "termed")
    deaths = [(p["exit_code"], p["reason"]) for t, p, _ in _events(md) if t == "die"]
    assert deaths == [(7, "exited"), (137, "exited")]


def test_every_event_names_the_caller(oci, md):
    bundle, _ = oci.bundle("actor", ["true"])
    oci.ok("run", "--bundle", str(bundle), "actor")
    events = _events(md)
    create = next(e for e in events if e[0] == "create")
    assert create[1]["name"] == "actor"
    assert create[1]["config"]["oci"]["bundle"] == str(bundle)
    for _, _, actor in events:
        assert actor["via"] == "oci-runtime"
        assert actor["uid"] == os.getuid()
        assert RUNC in actor["caller"]["cmdline"] or actor["caller"]["cmdline"][0] == "sh"
    # mydocker's own CLI reads the same log
    history = subprocess.run([MYDOCKER, "--root", str(md.root), "events", "--since", "0", "--until", "0s",
                              "--filter", "type=container"], capture_output=True, text=True, timeout=30)
    assert "actor" in history.stdout and "destroy" in history.stdout, history.stderr


def test_mydocker_ps_shows_a_running_oci_container(oci, md):
    bundle, _ = oci.bundle("seen", ["sleep", "60"])
    oci.ok("create", "--bundle", str(bundle), "seen")
    oci.ok("start", "seen")
    try:
        ps = md.ok("ps")
        assert "seen" in ps and "Up" in ps
    finally:
        oci.ok("delete", "--force", "seen")
    assert "seen" not in md.ok("ps", "-a")


def test_errors_are_one_line_and_json_in_the_log(oci, tmp_path):
    log = tmp_path / "runc.log"
    result = oci("start", "nosuch", global_args=("--log", str(log), "--log-format", "json"))
    assert result.code == 1
    assert result.err.strip().count("\n") == 0 and "nosuch" in result.err
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error" and "nosuch" in entry["msg"] and entry["time"]
    assert oci("delete", "nosuch").code == 1
    assert oci("delete", "--force", "nosuch").code == 0  # runc: nothing to delete is success when forced
    refused = oci("--systemd-cgroup", "list")
    assert refused.code == 1 and "systemd" in refused.err
    assert oci("kill", "x", "SIGBOGUS").code == 1
    assert oci("create", "--bundle", str(tmp_path / "none"), "bad/id").code == 1


def test_refused_configs_leave_nothing(oci):
    bundle, config = oci.bundle("userns", ["true"])
    config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    oci.write(bundle, config)
    result = oci("create", "--bundle", str(bundle), "userns")
    assert result.code == 1 and "mappings" in result.err
    config["linux"].pop("uidMappings")
    config["linux"]["namespaces"].append({"type": "user"})
    oci.write(bundle, config)
    assert "user namespaces" in oci("create", "--bundle", str(bundle), "userns").err
    assert oci.ok("list", "-q") == ""


def test_missing_command_fails_create_with_runcs_words(oci):
    bundle, _ = oci.bundle("nocmd", ["nosuchcommand"])
    result = oci("create", "--bundle", str(bundle), "nocmd")
    assert result.code == 1
    assert 'exec: "nosuchcommand": executable file not found in $PATH' in result.err
    assert oci.ok("list", "-q") == ""


def test_create_twice_is_refused(oci):
    bundle, _ = oci.bundle("twice", ["sleep", "60"])
    oci.ok("create", "--bundle", str(bundle), "twice")
    try:
        result = oci("create", "--bundle", str(bundle), "twice")
        assert result.code == 1 and "exists" in result.err
    finally:
        oci.ok("delete", "--force", "twice")


def _report(oci, name: str, script: str, **changes) -> dict[str, str]:
    """Run a script that prints key=value lines; the parsed lines."""
    bundle, config = oci.bundle(name, ["sh", "-c", script])
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            config[section][field] = value
        else:
            config[key] = value
    oci.write(bundle, config)
    result = oci("run", "--bundle", str(bundle), name)
    assert result.code == 0, result.err + result.out
    return dict(line.split("=", 1) for line in result.out.splitlines() if "=" in line)


def test_process_fields(oci):
    process = {
        "terminal": False, "args": [], "cwd": "/work/here",
        "env": ["PATH=/bin", "GREETING=hi there"],
        "user": {"uid": 65534, "gid": 65534, "additionalGids": [5, 7]},
        "capabilities": {k: ["CAP_KILL", "CAP_CHOWN"] for k in ("bounding", "effective", "permitted")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}],
        "noNewPrivileges": True, "oomScoreAdj": 123, "apparmorProfile": "docker-default",
    }
    script = ("echo cwd=$(pwd); echo greeting=$GREETING; echo id=$(id -u):$(id -g):$(id -G);"
              "echo nofile=$(ulimit -n); echo oom=$(cat /proc/self/oom_score_adj);"
              "grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status | tr -d '\\t' | sed 's/:/=/'")
    bundle, config = oci.bundle("proc", ["sh", "-c", script])
    config["process"] = {**process, "args": ["sh", "-c", script]}
    oci.write(bundle, config)
    result = oci("run", "--bundle", str(bundle), "proc")
    assert result.code == 0, result.err
    seen = dict(line.split("=", 1) for line in result.out.splitlines())
    assert seen["cwd"] == "/work/here"
    assert seen["greeting"] == "hi there"
    assert seen["id"] == "65534:65534:65534 5 7"
    assert seen["nofile"] == "256"
    assert seen["oom"] == "123"
    assert int(seen["CapBnd"], 16) == (1 << 0) | (1 << 5)  # CHOWN, KILL
    assert seen["NoNewPrivs"] == "1"
    assert "apparmor" in result.err  # ignored, with a warning


def _capabilities_seen(oci, name: str, user: dict, sets: dict) -> dict[str, int]:
    script = "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status | tr -d '\\t' | sed 's/:/=/'"
    bundle, config = oci.bundle(name, ["sh", "-c", script])
    config["process"].update(user=user, capabilities=sets)
    oci.write(bundle, config)
    result = oci("run", "--bundle", str(bundle), name)
    assert result.code == 0, result.err
    return {k: int(v, 16) for k, v in (line.split("=", 1) for line in result.out.splitlines())}


def _mask(*bits: int) -> int:
    return sum(1 << b for b in bits)


def test_the_five_capability_sets_as_the_kernel_shows_them(oci):
    chown, kill, bind = 0, 5, 10
    # A non-root user keeps what is ambient across its exec; inheritable stays as given.
    seen = _capabilities_seen(oci, "capuser", {"uid": 65534, "gid": 65534}, {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"], "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]})
    assert seen == {"CapInh": _mask(kill, bind), "CapPrm": _mask(bind), "CapEff": _mask(bind),
                    "CapBnd": _mask(chown, kill, bind), "CapAmb": _mask(bind)}
    # root under noNewPrivileges: exec cannot raise permitted past the spec's set
    seen = _capabilities_seen(oci, "caproot", {"uid": 0, "gid": 0}, {
        "bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]})
    assert seen == {"CapInh": 0, "CapPrm": _mask(kill), "CapEff": _mask(kill),
                    "CapBnd": _mask(chown, kill), "CapAmb": 0}


def test_root_hostname_mounts_masks_and_sysctl(oci, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "note").write_text("from the host")
    script = ("echo host=$(hostname); echo note=$(cat /data/note);"
              "touch /data/x 2>/dev/null && echo bindwrite=yes || echo bindwrite=no;"
              "touch /scratch/x && echo tmpfs=yes;"
              "touch /rootfile 2>/dev/null && echo rootwrite=yes || echo rootwrite=no;"
              "echo timers=$(wc -c < /proc/timer_list); echo firmware=$(ls /sys/firmware | wc -l);"
              "echo 1 > /proc/sys/kernel/shm_rmid_forced 2>/dev/null && echo procsys=rw || echo procsys=ro;"
              "echo shmforced=$(cat /proc/sys/kernel/shm_rmid_forced); echo mq=$(grep -c mqueue /proc/mounts)")
    bundle, config = oci.bundle("fs", ["sh", "-c", script])
    config["hostname"] = "oci-host"
    config["root"]["readonly"] = True
    config["mounts"] += [{"destination": "/data", "type": "bind", "source": str(shared), "options": ["rbind", "ro"]},
                         {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}]
    config["linux"]["sysctl"] = {"kernel.shm_rmid_forced": "1"}
    oci.write(bundle, config)
    result = oci("run", "--bundle", str(bundle), "fs")
    assert result.code == 0, result.err
    seen = dict(line.split("=", 1) for line in result.out.splitlines())
    assert seen == {"host": "oci-host", "note": "from the host", "bindwrite": "no", "tmpfs": "yes",
                    "rootwrite": "no", "timers": "0", "firmware": "0", "procsys": "ro", "shmforced": "1", "mq": "1"}
    assert not (shared / "x").exists()


def test_devices_and_device_cgroup(oci):
    script = ("test -c /dev/mdnull && echo node=char; echo x > /dev/mdnull && echo write=ok;"
              "mknod /dev/mem2 c 1 1 && (cat /dev/mem2 >/dev/null 2>&1 && echo mem=open || echo mem=denied)")
    bundle, config = oci.bundle("dev", ["sh", "-c", script])
    config["process"]["capabilities"] = {k: ["CAP_MKNOD"] for k in ("bounding", "effective", "permitted")}
    config["linux"]["devices"] = [{"path": "/dev/mdnull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}]
    oci.write(bundle, config)
    result = oci("run", "--bundle", str(bundle), "dev")
    assert result.code == 0, result.err
    seen = dict(line.split("=", 1) for line in result.out.splitlines())
    assert seen == {"node": "char", "write": "ok", "mem": "denied"}


def test_cgroup_resources(oci):
    script = ("echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null"
              " || cat /sys/fs/cgroup/memory.max);"
              "echo pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)")
    bundle, config = oci.bundle("res", ["sh", "-c", script])
    config["linux"]["resources"].update(memory={"limit": 64 * 1024 * 1024}, pids={"limit": 32})
    oci.write(bundle, config)
    result = oci("run", "--bundle", str(bundle), "res")
    assert result.code == 0, result.err
    seen = dict(line.split("=", 1) for line in result.out.splitlines())
    assert seen == {"mem": str(64 * 1024 * 1024), "pids": "32"}


def test_update_changes_live_limits_and_is_logged(oci, md, tmp_path):
    read = ("echo $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"
            " $(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)")
    bundle, config = oci.bundle("upd", ["sleep", "60"])
    config["linux"]["resources"].update(memory={"limit": 64 * 1024 * 1024}, pids={"limit": 32})
    oci.write(bundle, config)
    oci.ok("create", "--bundle", str(bundle), "upd")
    try:
        oci.ok("update", "--pids-limit", "24", "upd")  # a created container's cgroups change too
        oci.ok("start", "upd")
        assert oci.ok("exec", "upd", "sh", "-c", read).split() == [str(64 * 1024 * 1024), "24"]
        resources = tmp_path / "resources.json"
        resources.write_text(json.dumps({"memory": {"limit": 48 * 1024 * 1024}, "pids": {"limit": 16}}))
        oci.ok("update", "--resources", str(resources), "upd")
        assert oci.ok("exec", "upd", "sh", "-c", read).split() == [str(48 * 1024 * 1024), "16"]
        resources.write_text("[1, 2]")
        refused = oci("update", "--resources", str(resources), "upd")
        assert refused.code == 1 and "JSON object" in refused.err
        assert oci("update", "upd").code == 1  # nothing to update
    finally:
        oci.ok("delete", "--force", "upd")
    updates = [p["limits"] for t, p, _ in _events(md) if t == "update"]
    assert updates == [{"pids_limit": 24}, {"memory": 48 * 1024 * 1024, "pids_limit": 16}]
    stopped, _ = oci.bundle("updstop", ["true"])
    oci.ok("create", "--bundle", str(stopped), "updstop")
    oci.ok("start", "updstop")
    oci.wait_stopped("updstop")
    refused = oci("update", "--pids-limit", "5", "updstop")
    assert refused.code == 1 and "not running" in refused.err
    oci.ok("delete", "updstop")


def test_seccomp_profile_from_the_spec(oci):
    script = "mkdir /tmp/d 2>/dev/null && echo mkdir=ok || echo mkdir=refused; echo read=ok"
    bundle, config = oci.bundle("scmp", ["sh", "-c", script])
    config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
    oci.write(bundle, config)
    result = oci("run", "--bundle", str(bundle), "scmp")
    assert result.code == 0, result.err
    assert result.out.splitlines() == ["mkdir=refused", "read=ok"]


STAGES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def test_hooks_run_in_order_with_the_state_on_stdin(oci, tmp_path):
    record = tmp_path / "hooks.log"
    hook = tmp_path / "hook.sh"
    hook.write_text(f'#!/bin/sh\necho "$1 $(cat)" >> {record}\n')
    hook.chmod(0o755)
    # startContainer runs after pivot_root: its path resolves in the container's rootfs,
    # and what it writes lands there (the rootfs is the test's own directory)
    inside = oci.rootfs / "tmp" / "start.log"
    bundle, config = oci.bundle("hooks", ["sh", "-c", "cat /tmp/start.log"])
    config["hooks"] = {stage: [{"path": str(hook), "args": ["hook.sh", stage]}] for stage in STAGES}
    config["hooks"]["startContainer"] = [{"path": "/bin/sh", "args": [
        "sh", "-c", 'echo "startContainer $(cat)" > /tmp/start.log; echo "$(hostname)" >> /tmp/start.log']}]
    oci.write(bundle, config)
    try:
        oci.ok("create", "--bundle", str(bundle), "hooks")
        create_call = oci.calls
        oci.ok("start", "hooks")
        oci.wait_stopped("hooks")
        oci.ok("delete", "hooks")
        started = oci.output_of(create_call).splitlines()
    finally:
        inside.unlink(missing_ok=True)
    lines = record.read_text().splitlines()
    stages = [line.split(" ", 1)[0] for line in lines]
    assert stages == ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]
    states = [json.loads(line.split(" ", 1)[1]) for line in lines]
    assert all(s["id"] == "hooks" and s["bundle"] == str(bundle) for s in states)
    assert states[0]["status"] == "creating" and states[0]["pid"] > 0
    assert states[2]["status"] == "creating" and states[2]["pid"] == states[0]["pid"]
    assert states[4]["status"] == "stopped"
    assert started[0].startswith("startContainer ") and started[1] == "runc"  # in the container's UTS too
    start_state = json.loads(started[0].split(" ", 1)[1])
    assert start_state["status"] == "created" and start_state["pid"] == states[0]["pid"]


def test_failing_container_hooks_fail_create_or_start(oci, tmp_path):
    failing = [{"path": "/bin/sh", "args": ["sh", "-c", "echo no way >&2; exit 3"]}]
    bundle, config = oci.bundle("cchook", ["true"])
    config["hooks"] = {"createContainer": failing}
    oci.write(bundle, config)
    result = oci("create", "--bundle", str(bundle), "cchook")
    assert result.code == 1
    assert "createContainer" in result.err and "status 3" in result.err and "no way" in result.err
    assert oci.ok("list", "-q") == ""
    bundle, config = oci.bundle("schook", ["true"])
    config["hooks"] = {"startContainer": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}
    oci.write(bundle, config)
    oci.ok("create", "--bundle", str(bundle), "schook")
    result = oci("start", "schook")
    assert result.code == 1 and "startContainer" in result.err and "1s" in result.err, result.err
    oci.wait_stopped("schook")
    oci.ok("delete", "schook")


def test_a_failing_prestart_hook_fails_create_and_leaves_nothing(oci, tmp_path):
    bundle, config = oci.bundle("badhook", ["true"])
    config["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo no way >&2; exit 3"]}]}
    oci.write(bundle, config)
    result = oci("create", "--bundle", str(bundle), "badhook")
    assert result.code == 1
    assert "prestart" in result.err and "status 3" in result.err and "no way" in result.err
    assert oci.ok("list", "-q") == ""


def test_join_a_namespace_by_path(oci):
    first, _ = oci.bundle("owner", ["sleep", "60"])
    oci.ok("create", "--bundle", str(first), "owner")
    try:
        pid = oci.state("owner")["pid"]
        bundle, config = oci.bundle("joiner", ["hostname"])
        config.pop("hostname")
        config["linux"]["namespaces"] = [{"type": "uts", "path": f"/proc/{pid}/ns/uts"} if n["type"] == "uts" else n
                                         for n in config["linux"]["namespaces"]]
        oci.write(bundle, config)
        result = oci("run", "--bundle", str(bundle), "joiner")
        assert result.code == 0, result.err
        assert result.out == "runc\n"  # the owner's hostname
    finally:
        oci.ok("delete", "--force", "owner")


def test_terminal_goes_through_the_console_socket(oci, tmp_path):
    path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    received: dict[str, object] = {}

    def accept() -> None:
        conn, _ = server.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        received.update(name=msg.decode(), fd=fds[0])
        conn.close()

    thread = threading.Thread(target=accept)
    thread.start()
    bundle, config = oci.bundle("tty", ["sh", "-c", "tty; echo cols=$(stty size)"])
    config["process"]["terminal"] = True
    config["process"]["consoleSize"] = {"height": 30, "width": 100}
    oci.write(bundle, config)
    try:
        oci.ok("create", "--bundle", str(bundle), "--console-socket", path, "tty")
        thread.join(10)
        master = received["fd"]
        assert isinstance(master, int) and os.isatty(master)
        assert str(received["name"]).startswith("/dev/pts/")
        oci.ok("start", "tty")
        output = b""
        while True:
            try:
                chunk = os.read(master, 1024)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        os.close(master)
        assert b"/dev/pts/0" in output
        assert b"cols=30 100" in output
        oci.wait_stopped("tty")
    finally:
        server.close()
        oci("delete", "--force", "tty")


def test_terminal_without_a_console_socket_is_refused(oci):
    bundle, config = oci.bundle("notty", ["true"])
    config["process"]["terminal"] = True
    oci.write(bundle, config)
    result = oci("create", "--bundle", str(bundle), "notty")
    assert result.code == 1 and "console socket" in result.err


def test_exec_detached_and_attached(oci, tmp_path):
    bundle, _ = oci.bundle("ex", ["sleep", "60"])
    oci.ok("create", "--bundle", str(bundle), "ex")
    oci.ok("start", "ex")
    try:
        process = tmp_path / "process.json"
        process.write_text(json.dumps({"args": ["sh", "-c", "echo in=$(hostname); exit 5"], "cwd": "/",
                                       "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}}))
        result = oci("exec", "--process", str(process), "ex")
        assert result.code == 5, result.err
        assert result.out == "in=runc\n"
        pid_file = tmp_path / "exec.pid"
        process.write_text(json.dumps({"args": ["sleep", "30"], "cwd": "/", "env": ["PATH=/bin"]}))
        oci.ok("exec", "--process", str(process), "--detach", "--pid-file", str(pid_file), "ex")
        pid = int(pid_file.read_text())
        assert Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep")
        assert pid in json.loads(oci.ok("ps", "--format", "json", "ex"))
        assert oci("exec", "ex", "nosuchcmd").code == 1
        assert oci.ok("exec", "ex", "echo", "plain") == "plain\n"
    finally:
        oci.ok("delete", "--force", "ex")


def test_pause_and_resume(oci, md):
    bundle, _ = oci.bundle("frz", ["sleep", "60"])
    oci.ok("create", "--bundle", str(bundle), "frz")
    oci.ok("start", "frz")
    try:
        oci.ok("pause", "frz")
        state = oci.state("frz")
        assert state["status"] == "paused"
        assert Path(f"/proc/{state['pid']}/stat").read_text().split(") ")[1][0] in "DS"
        assert oci("pause", "frz").code == 1
        assert "Paused" in md.ok("ps")  # the log's state machine paused it too
        oci.ok("resume", "frz")
        assert oci.state("frz")["status"] == "running"
        assert oci("resume", "frz").code == 1
        oci.ok("pause", "frz")
    finally:
        oci.ok("delete", "--force", "frz")  # a paused container too
    types = [t for t, _, _ in _events(md)]
    assert [t for t in types if t in ("pause", "unpause")] == ["pause", "unpause", "pause"]
    assert "destroying" in types and types[-1] == "destroy"  # removed from paused, as `rm -f` may


def test_list_ps_features_and_version(oci):
    bundle, _ = oci.bundle("ls", ["sleep", "60"])
    oci.ok("create", "--bundle", str(bundle), "ls")
    try:
        listed = json.loads(oci.ok("list", "--format", "json"))
        assert [s["id"] for s in listed] == ["ls"] and listed[0]["status"] == "created"
        assert "ls" in oci.ok("list")
        assert json.loads(oci.ok("ps", "--format", "json", "ls")) == [oci.state("ls")["pid"]]
    finally:
        oci.ok("delete", "ls")  # a created container is deleted without --force, as runc does
    features = json.loads(oci.ok("features"))
    assert "seccomp" in features["linux"] and "mount" in features["linux"]["namespaces"]
    assert features["linux"]["cgroup"]["systemd"] is False
    assert features["hooks"] == list(STAGES)
    assert "version" in oci.ok("--version")


def test_fifo_and_state_files_are_private(oci):
    bundle, _ = oci.bundle("perm", ["true"])
    oci.ok("create", "--bundle", str(bundle), "perm")
    try:
        fifo = oci.root / "perm" / "exec.fifo"
        assert stat.S_ISFIFO(fifo.stat().st_mode)
        assert (oci.root / "perm" / "state.json").exists()
    finally:
        oci.ok("delete", "perm")
    assert not (oci.root / "perm").exists()


def test_no_pivot_moves_the_root_instead(oci):
    bundle, _ = oci.bundle("nopivot", ["sh", "-c", "echo root=$(ls /bin/busybox); exit 2"])
    result = oci("run", "--no-pivot", "--bundle", str(bundle), "nopivot")
    assert result.code == 2, result.err
    assert result.out == "root=/bin/busybox\n"


def test_an_unwritable_event_log_fails_create_and_leaves_nothing(oci, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    bundle, _ = oci.bundle("nolog", ["sleep", "60"])
    result = oci("--events-root", str(blocker), "create", "--bundle", str(bundle), "nolog")
    assert result.code == 1 and "event log" in result.err
    assert oci.ok("list", "-q") == ""
