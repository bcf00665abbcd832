"""events, history and system check as a user sees them."""

from __future__ import annotations

import json
import os
import subprocess
import time

from tests.integration.conftest import MYDOCKER


def test_events_filters_and_formats(md):
    assert md("run", "--name", "ev1", "busybox", "sh", "-c", "exit 4").code == 4
    md.ok("run", "--name", "ev2", "busybox", "true")
    lines = md.ok("events", "--until", "0s", "--filter", "container=ev1").splitlines()
    assert [line.split()[2] for line in lines] == ["create", "connect", "start", "die", "disconnect"]
    assert "exit_code=4" in lines[3] and "name=ev1" in lines[3]
    dies = md.ok("events", "--until", "0s", "-f", "event=die", "--format", "{{.Actor.Attributes.name}} "
                 "{{.Actor.Attributes.exitCode}}").splitlines()
    assert dies == ["ev1 4", "ev2 0"]
    both = md.ok("events", "--until", "0s", "-f", "container=ev1", "-f", "container=ev2", "-f", "event=create")
    assert len(both.splitlines()) == 2
    listed = md.ok("events", "--since", "0", "--until", "0s", "--format", "json")
    objects = [json.loads(line) for line in listed.splitlines()]
    assert objects[0]["Type"] == "image" and objects[0]["Action"] == "import"
    assert {o["Actor"]["Attributes"].get("name") for o in objects if o["Type"] == "container"} == {"ev1", "ev2"}
    assert all(o["By"]["user"] == "root" and o["By"]["pid"] > 0 for o in objects)
    created = md.ok("events", "--since", "1h", "--until", "0s", "--filter", "image=busybox", "--filter", "event=create")
    assert created.count("\n") == 2
    assert md.ok("events", "--until", "2000-01-01T00:00:00Z") == ""
    assert md.ok("events", "--since", "2999-01-01", "--until", "0s") == ""
    assert md("events", "--since", "yesterday").code == 125
    # docker's daemon ignores a filter key it does not know; its CLI refuses one without '='
    assert md.ok("events", "--filter", "colour=red", "--until", "0s") == md.ok("events", "--until", "0s") != ""
    bad = md("events", "-f", "colour", "--until", "0s")
    assert (bad.code, bad.err) == (125, 'Error: invalid argument "colour" for "-f, --filter" flag: bad format of '
                                        "filter (expected name=value)\n")
    md.ok("rm", "ev1", "ev2")


def test_network_events_speak_dockers_words(md):
    """docker events -f type=network: create, connect, disconnect, destroy, each with
    the network's name and type; the log itself keeps allocate / release."""
    md.ok("network", "create", "evnet")
    cid = md.ok("run", "-d", "--name", "evn", "--network", "evnet", "busybox", "sleep", "30").strip()
    md.ok("network", "disconnect", "evnet", "evn")
    md.ok("rm", "-f", "evn")
    md.ok("network", "rm", "evnet")
    shown = md.ok("events", "--until", "0s", "-f", "type=network", "-f", "network=evnet", "--format",
                  "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}} {{.Actor.Attributes.container}}")
    assert shown.splitlines() == ["create evnet bridge <no value>", f"connect evnet bridge {cid}",
                                  f"disconnect evnet bridge {cid}", "destroy evnet bridge <no value>"]
    connects = md.ok("events", "--until", "0s", "-f", "type=network", "-f", "event=connect", "--format", "{{.Action}}")
    assert connects.splitlines() == ["connect"]
    raw = md.ok("events", "--until", "0s", "-f", "type=network", "--format", "json")
    assert [json.loads(line)["Payload"].get("ip") is not None for line in raw.splitlines()][1:3] == [True, True]


def test_events_follow_prints_what_other_processes_append(md):
    md.ok("images")  # build the image first: follow starts at the end of the log
    md.ok("create", "--name", "probe0", "--network", "none", "busybox", "true")
    follower = subprocess.Popen([MYDOCKER, "--root", str(md.root), "events", "--filter", "type=container"],
                                stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    renames = 0

    def read_for(seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            chunk = follower.stdout.readline()
            if chunk:
                lines.append(chunk)
            else:
                time.sleep(0.05)

    try:
        os.set_blocking(follower.stdout.fileno(), False)
        # Until the follower has reached the end of the log (it starts there): a
        # loaded machine may take seconds to start it, and what comes before is not its.
        deadline = time.monotonic() + 60
        while not any(" rename " in line for line in lines) and time.monotonic() < deadline:
            md.ok("rename", f"probe{renames}", f"probe{renames + 1}")
            renames += 1
            read_for(1)
        md.ok("run", "--rm", "--name", "fol", "busybox", "true")
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while len(seen) < 7 and time.monotonic() < deadline:
            read_for(0.2)
            seen = [line.split()[2] for line in lines if "name=fol" in line]
        assert seen == ["create", "connect", "start", "die", "disconnect", "destroying", "destroy"]
    finally:
        follower.kill()
        follower.wait()
        md("rm", f"probe{renames}")
    assert md("run", "--name", "hist", "busybox", "sh", "-c", "exit 9").code == 9
    cid = md.inspect("hist")["Id"]
    md.ok("rm", "hist")
    table = md.ok("container", "history", "hist").splitlines()
    assert table[0].split() == ["VERSION", "TIME", "EVENT", "BY", "DETAILS"]
    assert [line.split()[2] for line in table[1:]] == ["create", "connect", "start", "die", "disconnect",
                                                       "destroying", "destroy"]
    assert "exit_code=9" in table[4] and "monitor" in table[4]
    rows = [json.loads(line) for line in md.ok("container", "history", "--format", "json", cid[:12]).splitlines()]
    assert rows[-1]["Event"] == "destroy" and rows[-1]["By"] == "rm hist"
    r = md("container", "history", "never-was")
    assert r.code == 1 and r.err.strip() == "Error: No such container: never-was"


def test_system_check_finds_and_prune_removes_leaks_of_this_root_only(md, tmp_path):
    md.ok("run", "-d", "--name", "live", "busybox", "top")
    assert md.ok("system", "check").strip().endswith("the log and the kernel agree")
    cgroup = md.inspect("live")["Mydocker"]["Cgroups"]["pids"]
    leaked = os.path.join(os.path.dirname(cgroup), os.path.basename(cgroup)[:-12] + "0123456789ab")
    other_root = os.path.join(os.path.dirname(cgroup), "mydocker-ffffff-0123456789ab")
    os.mkdir(leaked)
    os.mkdir(other_root)
    stray = md.root / "containers" / ("f" * 64)
    stray.mkdir()
    try:
        r = md("system", "check")
        assert r.code == 1
        assert f"leaked: cgroup {leaked}" in r.out and f"leaked: directory {stray}" in r.out
        assert other_root not in r.out, "another root's cgroups are not ours to judge"
        md.ok("system", "check", "--fix")
        assert not os.path.exists(leaked) and not stray.exists() and os.path.isdir(other_root)
        assert os.path.isdir(cgroup), "a running container's cgroup is not a leak"
        assert md.ok("system", "check").strip().endswith("the log and the kernel agree")
    finally:
        for d in (leaked, other_root):
            if os.path.isdir(d):
                os.rmdir(d)
        md.ok("rm", "-f", "live")


def test_system_check_and_prune_cover_network_leaks(md):
    """A crash between the kernel work and its record leaves a veth and port rule
    that the log says are gone: check names them, prune removes exactly them."""
    import subprocess

    from tests.integration.conftest import free_subnet

    netid = md.ok("network", "create", "--subnet", free_subnet(), "leaknet").strip()
    cid = md.ok("run", "-d", "--name", "lk", "--net", "leaknet", "-p", "18089:80", "busybox", "top").strip()
    veth = f"md-{cid[:12]}"
    rules_before = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout.count(cid[:12])
    assert rules_before >= 1
    md.ok("stop", "-t", "1", "lk")
    assert md.ok("system", "check").strip().endswith("the log and the kernel agree")
    # what a crash halfway through the teardown would leave behind:
    subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", f"mdp{cid[:8]}"], check=True)
    rule = ["-t", "nat", "-A", "MYDOCKER", "-p", "tcp", "--dport", "18090", "-m", "comment", "--comment",
            f"mydocker:{netid[:12]}:{cid[:12]}", "-j", "DNAT", "--to-destination", "10.213.0.2:80"]
    subprocess.run(["iptables", "-w", *rule], check=True)
    try:
        r = md("system", "check")
        assert r.code == 1 and f"leaked: veth {veth}" in r.out and "leaked: rule nat -A MYDOCKER" in r.out
        md.ok("system", "check", "--fix")
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        assert veth not in links and f"mdp{cid[:8]}" not in links
        assert "18090" not in subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
        assert md.ok("system", "check").strip().endswith("the log and the kernel agree")
    finally:
        subprocess.run(["ip", "link", "del", veth], capture_output=True)
        subprocess.run(["iptables", "-w", *[("-D" if a == "-A" else a) for a in rule]], capture_output=True)
        md.ok("rm", "lk")
        md.ok("network", "rm", "leaknet")
