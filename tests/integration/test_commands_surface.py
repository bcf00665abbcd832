"""The rest of docker's everyday surface on the real kernel: management groups,
rename, port, top, update, stats, version, info, system df, image history,
container history, and the prune commands."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path


def _one_error_line(result, code: int, words: str) -> None:
    assert result.code == code, (result.code, result.err)
    assert words in result.err and result.err.count("\n") == 1, result.err


def test_management_groups_take_the_short_forms_flags(md):
    cid = md.ok("container", "run", "-d", "--name", "grouped", "--network", "none", "busybox", "sleep", "1000").strip()
    assert md.ok("container", "ls", "-q") .split() == [cid[:12]]
    assert md.ok("container", "ps", "--no-trunc", "-q").split() == [cid]
    assert md.ok("container", "inspect", "-f", "{{.State.Status}}", "grouped").strip() == "running"
    assert md.ok("container", "exec", "grouped", "echo", "hi") == "hi\n"
    md.ok("container", "stop", "-t", "0", "grouped")
    assert md.ok("container", "ls", "-q") == ""
    assert "busybox" in md.ok("image", "ls")
    image_id = md.ok("image", "inspect", "-f", "{{.Id}}", "busybox").strip()
    md.ok("image", "tag", "busybox", "copy:1")
    assert "copy" in md.ok("image", "ls")
    assert "Untagged: copy:1" in md.ok("image", "rm", "copy:1")
    assert image_id.startswith("sha256:")
    md.ok("container", "rm", "grouped")
    unknown = md("container", "bogus")
    assert unknown.code == 125 and "unknown command" in unknown.err


def test_rename_port_top(md):
    port = random.randint(20000, 40000)
    cid = md.ok("run", "-d", "--name", "old-name", "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "1000").strip()
    md.ok("rename", "old-name", "new-name")
    assert md.inspect(cid)["Name"] == "/new-name"
    assert md.events(cid)[-1] == "rename"
    _one_error_line(md("rename", "new-name", "new-name"), 1, "same name as its current name")
    _one_error_line(md("rename", "new-name", "bad name"), 1, "Invalid container name")
    _one_error_line(md("rename", "new-name"), 1, '"mydocker rename" requires exactly 2 arguments')
    _one_error_line(md("rename", "nosuch", "x-y"), 1, "No such container: nosuch")
    other = md.ok("run", "-d", "--name", "taken", "--network", "none", "busybox", "sleep", "1000").strip()
    _one_error_line(md("rename", "new-name", "taken"), 1, 'The container name "/taken" is already in use')
    assert md.inspect(cid)["Name"] == "/new-name"
    # the container's whole life follows it under its new name
    assert "rename" in md.ok("container", "history", "new-name")

    assert md.ok("port", "new-name") == f"80/tcp -> 127.0.0.1:{port}\n"
    assert md.ok("port", "new-name", "80") == f"127.0.0.1:{port}\n"
    _one_error_line(md("port", "new-name", "81"), 1, "No public port '81/tcp' published for new-name")

    top = md.ok("top", "new-name").splitlines()
    assert top[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    pid = md.inspect(cid)["State"]["Pid"]
    assert [line.split()[1] for line in top[1:]] == [str(pid)]
    assert top[1].endswith("sleep 1000")
    custom = md.ok("top", "new-name", "-o", "pid,comm").splitlines()
    assert custom[0].split() == ["PID", "COMMAND"] and custom[1].split() == [str(pid), "sleep"]
    assert md("top", "new-name", "--bogus-option").code == 1
    # docker: the first line of ps's own complaint, not its usage
    _one_error_line(md("top", "new-name", "-bogus"), 1, "Error: ps: error: unsupported SysV option\n")
    md.ok("stop", "-t", "0", "taken")
    _one_error_line(md("top", "taken"), 1, "is not running")
    md.ok("rm", "-f", "new-name", other)


def test_update_changes_the_live_cgroup_and_is_an_event(md):
    cid = md.ok("run", "-d", "--name", "limits", "--network", "none", "-m", "32m", "busybox", "sleep", "1000").strip()
    md.ok("update", "-m", "64m", "--pids-limit", "40", "--cpus", "0.5", "limits")
    host = md.inspect("limits")["HostConfig"]
    assert (host["Memory"], host["PidsLimit"], host["NanoCpus"]) == (64 << 20, 40, 500_000_000)
    cgroups = md.inspect("limits")["Mydocker"]["Cgroups"]
    if "memory" in cgroups:
        assert Path(cgroups["memory"], "memory.limit_in_bytes").read_text().strip() == str(64 << 20)
        assert Path(cgroups["pids"], "pids.max").read_text().strip() == "40"
        assert Path(cgroups["cpu"], "cpu.cfs_quota_us").read_text().strip() == "50000"
    else:
        assert Path(cgroups["unified"], "memory.max").read_text().strip() == str(64 << 20)
    assert md.events(cid)[-1] == "update"
    before = md.events(cid)
    bad = md("update", "limits")
    assert bad.code == 1 and bad.err == "you must provide one or more flags when using this command\n"
    _one_error_line(md("update", "-m", "lots", "limits"), 125, "invalid size")
    _one_error_line(md("update", "--cpus", "0.5", "nosuch"), 1, "No such container: nosuch")
    # docker's daemon judges the range (exit 1), after finding the container; its CLI the syntax (125)
    cpus = os.cpu_count() or 1
    _one_error_line(md("update", "--cpus", "-1", "limits"), 1,
                    f"Error: Range of CPUs is from 0.01 to {cpus:.2f}, as there are only {cpus} CPUs available\n")
    _one_error_line(md("update", "-m", "1k", "limits"), 1, "Error: Minimum memory limit allowed is 6MB\n")
    _one_error_line(md("update", "--cpus", "-1", "nosuch"), 1, "No such container: nosuch")
    _one_error_line(md("update", "--cpus", "many", "limits"), 125, "--cpus")
    assert md.events(cid) == before
    md.ok("stop", "-t", "0", "limits")
    md.ok("update", "-m", "48m", "limits")  # a stopped container gets it at its next start
    md.ok("start", "limits")
    cgroups = md.inspect("limits")["Mydocker"]["Cgroups"]
    if "memory" in cgroups:
        assert Path(cgroups["memory"], "memory.limit_in_bytes").read_text().strip() == str(48 << 20)
    assert md.ok("replay", "--check").strip() == "projections match the log"
    md.ok("rm", "-f", "limits")


def test_stats_reads_cgroups_and_the_containers_netns(md):
    md.ok("run", "-d", "--name", "busy", "-m", "64m", "busybox", "sh", "-c", "sleep 1000")
    gateway = md.inspect("busy")["NetworkSettings"]["Gateway"]
    md("exec", "busy", "ping", "-c", "2", "-W", "1", gateway)  # traffic to our own bridge only
    out = md.ok("stats", "--no-stream", "--format", "{{json .}}", "busy")
    row = json.loads(out)
    assert row["Name"] == "busy" and row["PIDs"] == "1"
    assert row["MemUsage"].endswith("/ 64MiB")
    assert re.fullmatch(r"\d+\.\d\d%", row["CPUPerc"])
    received, sent = row["NetIO"].split(" / ")
    assert received != "0B" and sent != "0B", row
    table = md.ok("stats", "--no-stream").splitlines()
    assert table[0].split()[:4] == ["CONTAINER", "ID", "NAME", "CPU"] and "busy" in table[1]
    _one_error_line(md("stats", "--no-stream", "nosuch"), 1, "No such container: nosuch")
    md.ok("rm", "-f", "busy")


def test_version_info_system_df_and_image_history(md):
    assert re.fullmatch(r"\d+\.\d+\.\d+\n", md.ok("version", "--format", "{{.Client.Version}}"))
    md.ok("run", "-d", "--name", "counted", "--network", "none", "busybox", "sleep", "1000")
    md.ok("pause", "counted")
    assert md.ok("info", "--format", "{{.Containers}} {{.ContainersPaused}} {{.Images}}") == "1 1 1\n"
    md.ok("unpause", "counted")
    md.ok("exec", "counted", "sh", "-c", "head -c 5000 /dev/zero > /blob")
    md.ok("commit", "-m", "with blob", "counted", "blobbed")
    df = {line.split()[0]: line.split() for line in md.ok("system", "df").splitlines()[1:]}
    assert df["Images"][1:3] == ["2", "1"] and df["Containers"][1:3] == ["1", "1"]
    verbose = md.ok("system", "df", "-v")
    titles = [line for line in verbose.splitlines() if line.endswith(":") or line.startswith("Build cache")]
    assert titles == ["Images space usage:", "Containers space usage:", "Local Volumes space usage:",
                      "Build cache usage: 0B"]
    rows = {line.split()[0]: line.split() for line in verbose.splitlines() if line}
    assert rows["REPOSITORY"][-2:] == ["SIZE", "CONTAINERS"]
    assert rows["blobbed"][-1] == "0" and rows["busybox"][-1] == "1"
    assert verbose.splitlines()[verbose.splitlines().index("Containers space usage:") + 3].endswith("counted")

    history = md.ok("history", "blobbed").splitlines()
    assert history[0].split()[:2] == ["IMAGE", "CREATED"]
    assert len(history) == 3 and history[2].startswith("<missing>")
    assert "with blob" in history[1] and "sleep 1000" in history[1] and "5kB" in history[1]
    assert md.ok("image", "history", "-q", "blobbed").splitlines()[1] == "<missing>"
    _one_error_line(md("history", "nosuch"), 1, "No such image: nosuch:latest")
    md.ok("rm", "-f", "counted")
    md.ok("rmi", "blobbed")


def test_prune_commands(md, tmp_path):
    keep = md.ok("run", "-d", "--name", "keeper", "--network", "none", "busybox", "sleep", "1000").strip()
    gone = md.ok("create", "--name", "gone1", "--network", "none", "busybox", "true").strip()
    md.ok("run", "--name", "gone2", "--network", "none", "busybox", "true")
    gone2 = md.inspect("gone2")["Id"]
    aborted = md("container", "prune", input="n\n")
    assert aborted.code == 0 and "Are you sure you want to continue? [y/N]" in aborted.out
    assert md.inspect("gone1")["Id"] == gone
    recent = md.ok("container", "prune", "-f", "--filter", "until=1h")
    assert "Total reclaimed space" in recent and gone not in recent, "until=1h: only older than an hour"
    _one_error_line(md("container", "prune", "-f", "--filter", "until=bogus"), 1,
                    'failed to parse value as time or duration: "bogus"')
    _one_error_line(md("container", "prune", "-f", "--filter", "foo=bar"), 1, "Invalid filter 'foo'")
    out = md.ok("container", "prune", "-f")
    assert out.startswith("Deleted Containers:\n") and {gone, gone2} <= set(out.split())
    assert md.ok("ps", "-aq", "--no-trunc").split() == [keep]

    md.ok("volume", "create", "unused-vol")
    out = md.ok("volume", "prune", "-f")
    assert "unused-vol" in out and "unused-vol" not in md.ok("volume", "ls")

    md.ok("commit", "keeper", "snapshot:1")
    md.ok("rmi", "snapshot:1")  # untagged... and removed: nothing dangling is left
    md.ok("image", "tag", "busybox", "spare:1")
    assert "Total reclaimed space: 0B" in md.ok("image", "prune", "-f"), "busybox is tagged: not dangling"
    md.ok("network", "create", "--subnet", "10.219.251.0/24", "prune-net")
    out = md.ok("network", "prune", "-f")
    assert out == "Deleted Networks:\nprune-net\n\n"
    assert "prune-net" not in md.ok("network", "ls")
    md.ok("rm", "-f", "keeper")
    busybox = md.ok("image", "inspect", "-f", "{{.Id}}", "busybox").strip()
    out = md.ok("image", "prune", "-a", "-f")
    assert f"deleted: {busybox}" in out and "untagged: spare:1" in out
    # (images builds a fresh busybox on first use: a new id)
    assert busybox.split(":")[1][:12] not in md.ok("images", "-q")


def test_stats_streams_until_interrupted(md):
    import os
    import signal
    import subprocess

    from tests.integration.conftest import MYDOCKER

    md.ok("run", "-d", "--name", "streamed", "--network", "none", "busybox", "sleep", "1000")
    proc = subprocess.Popen([MYDOCKER, "--root", str(md.root), "stats", "--format", "{{.Name}} {{.PIDs}}"],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, **md.env})
    try:
        frames = [proc.stdout.readline(), proc.stdout.readline()]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert frames[0] == "streamed 1\n"
    assert frames[1] == "\033[2J\033[Hstreamed 1\n", "each new frame clears the screen, as docker's"
    md.ok("rm", "-f", "streamed")
